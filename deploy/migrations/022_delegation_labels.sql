-- Issue 22: the delegation CNAME's label (README "Zero-touch: one CNAME, then nothing") is an
-- HMAC of the domain's verification token and name, neither of which ever changes, yet every
-- view computed it again: ~7 us of GET /domains/{id}'s CPU (OpenSSL's EVP layers, cold on each
-- request), once per row of a list page. It is now computed once, when the domain is registered,
-- and stored here. Rows from before this migration keep NULL and have it computed when shown:
-- filling them here would update every row of the table in this migration's one transaction (and
-- SQL computes an HMAC only through the pgcrypto extension, which the service does not use). A
-- nullable column with no default: no table rewrite.
ALTER TABLE domains ADD COLUMN delegation_label text;
