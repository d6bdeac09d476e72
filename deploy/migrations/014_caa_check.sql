-- Issue 20 (README "How issuance and renewal work", CAA): the last CAA check made before a CA
-- order for the domain (issue-certificate or a renewal's place_order), as the domain view's
-- checks.caa shows it. JSON text written by the service, capped before it is stored.
ALTER TABLE domains ADD COLUMN caa_check text;
