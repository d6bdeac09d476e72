-- Issue 21: the dns-persist-01 record a customer can publish once per CA (README "dns-persist-01:
-- one record, set once"), given by POST /domains and the domain view as `persist`. It names the
-- CA's issuer domain and our account URL there, so both are kept with the account:
--   persist_issuer: the first of the CA's issuer-domain-names (draft §3.1), known from its
--     directory's meta.caaIdentities when the account is registered (what a CA copies into the
--     challenge, Pebble and Let's Encrypt alike) and corrected by the first challenge seen;
--   persist_offered: whether the last authorization of ours the CA sent offered dns-persist-01
--     (NULL until one was seen). A CA that stopped offering it has no record to show.
ALTER TABLE acme_accounts ADD COLUMN persist_issuer text;
ALTER TABLE acme_accounts ADD COLUMN persist_offered boolean;
