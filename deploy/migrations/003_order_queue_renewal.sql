-- The ACME order becomes the scheduler's unit of work (README "How issuance and renewal work"): its
-- kind, step, lease, attempts and next attempt live on the order, so a renewal runs while the
-- domain stays active. Certificates get renew_at, the index the renewal scan walks.

ALTER TABLE acme_orders
    ADD COLUMN kind             text NOT NULL DEFAULT 'issue' CHECK (kind IN ('issue', 'renewal')),
    ADD COLUMN next_attempt_at  timestamptz,
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    -- Every error counts here, whatever its kind; past the limit the order fails.
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0,
    -- 1 + the orders this one replaced (a CA that forgot an order, an order past its expiry).
    ADD COLUMN generation       integer NOT NULL DEFAULT 1,
    -- When the order entered its current step: the step's timeouts count from here.
    ADD COLUMN step_started_at  timestamptz NOT NULL DEFAULT now(),
    -- Renewals: the certificate this order renews (RFC 9773 "replaces" when the CA has ARI).
    ADD COLUMN replaces_certificate_id text REFERENCES certificates (id) ON DELETE SET NULL,
    ADD COLUMN error_code       text,
    -- Orders the scheduler places itself (renewals, replacements) exist before the CA's does.
    ALTER COLUMN account_id DROP NOT NULL,
    ALTER COLUMN order_url DROP NOT NULL,
    ALTER COLUMN finalize_url DROP NOT NULL;

ALTER TABLE acme_orders DROP CONSTRAINT IF EXISTS acme_orders_step_check;
ALTER TABLE acme_orders ADD CONSTRAINT acme_orders_step_check
    CHECK (step IN ('place_order', 'await_dns', 'await_authz', 'finalize', 'await_order', 'done'));
ALTER TABLE acme_orders ADD CONSTRAINT acme_orders_placed_check
    CHECK (step = 'place_order' OR (order_url IS NOT NULL AND finalize_url IS NOT NULL
                                    AND account_id IS NOT NULL));

-- The scheduler's due-work query: live orders by next attempt.
CREATE INDEX acme_orders_due_idx ON acme_orders (next_attempt_at)
    WHERE status IN ('pending', 'ready', 'processing');

-- Live orders keep their place in the queue and their lease; a certificate_pending domain left
-- without a live order cannot progress and becomes failed (issue-certificate retries it).
UPDATE acme_orders o
   SET next_attempt_at = d.next_attempt_at, lease_owner = d.lease_owner,
       lease_expires_at = d.lease_expires_at, attempts = o.retries,
       step_started_at = o.updated_at
  FROM domains d
 WHERE d.id = o.domain_id AND o.status IN ('pending', 'ready', 'processing');

ALTER TABLE domains
    ADD COLUMN error_code text,
    -- The last DNS lookup made for the domain (verification, issuance or renewal), as the JSON
    -- object the domain view shows under "checks".
    ADD COLUMN last_check text;

UPDATE domains d
   SET status = 'failed', error = 'no ACME order was found for this domain when upgrading',
       error_code = 'internal', updated_at = now()
 WHERE d.status = 'certificate_pending'
   AND NOT EXISTS (SELECT 1 FROM acme_orders o WHERE o.domain_id = d.id
                     AND o.status IN ('pending', 'ready', 'processing'));

DROP INDEX domains_due_idx;
ALTER TABLE domains DROP COLUMN next_attempt_at, DROP COLUMN lease_owner,
                    DROP COLUMN lease_expires_at;
ALTER TABLE acme_orders DROP COLUMN retries;

ALTER TABLE certificates
    -- When the scheduler renews this certificate: NULL once a renewal order owns it (or for a
    -- certificate that has been superseded), so the scan only sees work still to start.
    ADD COLUMN renew_at         timestamptz,
    ADD COLUMN renewal_failures integer NOT NULL DEFAULT 0,
    -- RFC 9773: when to ask the CA's renewalInfo again (NULL: the CA has none).
    ADD COLUMN ari_next_fetch_at timestamptz;

-- The renewal scan: an index range scan over renew_at <= now(), as cheap with a million
-- certificates as with ten.
CREATE INDEX certificates_renew_at_idx ON certificates (renew_at) WHERE renew_at IS NOT NULL;
CREATE INDEX certificates_ari_idx ON certificates (ari_next_fetch_at)
    WHERE ari_next_fetch_at IS NOT NULL;

-- Existing certificates: the newest of each active domain renews a third of its lifetime
-- before it expires (RENEW_BEFORE's default).
UPDATE certificates c
   SET renew_at = c.expires_at - (c.expires_at - c.issued_at) / 3
  FROM domains d
 WHERE d.id = c.domain_id AND d.status = 'active'
   AND c.id = (SELECT id FROM certificates n WHERE n.domain_id = c.domain_id
                ORDER BY n.created_at DESC, n.id DESC LIMIT 1);
