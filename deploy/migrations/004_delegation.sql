-- Delegated validation (README "Zero-touch: one CNAME, then nothing"): whether the customer's
-- _acme-challenge CNAME points into DELEGATION_ZONE, which orders the service publishes the
-- dns-01 values for itself, and which values it has published (to remove exactly those).

ALTER TABLE domains ADD COLUMN delegation_status text NOT NULL DEFAULT 'not_seen'
    CHECK (delegation_status IN ('not_seen', 'active', 'lost'));

ALTER TABLE acme_orders ADD COLUMN delegated boolean NOT NULL DEFAULT false;

-- The name the value was added at (the delegation target) while it is published there.
ALTER TABLE acme_challenges ADD COLUMN published_at_name text;
