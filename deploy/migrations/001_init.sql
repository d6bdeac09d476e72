-- The first schema (later files add to it). Issuance (issue-certificate, scheduler) uses the acme_*
-- tables, the lease columns of domains and certificates.

CREATE TABLE domains (
    id                 text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    domain_name        text NOT NULL UNIQUE
                       CHECK (domain_name = lower(domain_name) AND length(domain_name) BETWEEN 3 AND 253),
    verification_token text NOT NULL CHECK (verification_token ~ '^[0-9a-f]{64}$'),
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'verified', 'certificate_pending', 'active', 'failed')),
    error              text,                       -- why, when status = 'failed'
    verified_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- Scheduler work queue: when to look at the domain next, and who holds it until when.
    next_attempt_at    timestamptz,
    lease_owner        text,
    lease_expires_at   timestamptz,
    CHECK (status <> 'verified' OR verified_at IS NOT NULL)
);

-- The scheduler's "due work" query: certificate_pending domains by next attempt.
CREATE INDEX domains_due_idx ON domains (next_attempt_at) WHERE status = 'certificate_pending';

-- One ACME account per CA directory URL; the key is stored encrypted (key_ciphertext, key_id names
-- the key-encryption key).
CREATE TABLE acme_accounts (
    id             bigserial PRIMARY KEY,
    directory_url  text NOT NULL UNIQUE,
    account_url    text,
    contact        text,
    key_ciphertext text NOT NULL,
    key_id         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- RFC 8555 §7.1.3 orders. status mirrors the CA's; "replaced" marks an order we abandoned.
CREATE TABLE acme_orders (
    id                     text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    domain_id              text NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    account_id             bigint NOT NULL REFERENCES acme_accounts (id),
    order_url              text NOT NULL,
    finalize_url           text NOT NULL,
    certificate_url        text,
    status                 text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid', 'replaced')),
    expires_at             timestamptz,
    step                   text NOT NULL DEFAULT 'await_dns',
    cert_key_ciphertext    text,                -- generated and persisted before finalize
    cert_key_id            text,
    error                  text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX acme_orders_domain_idx ON acme_orders (domain_id, created_at DESC);
-- At most one live order per domain, whatever races happen above.
CREATE UNIQUE INDEX acme_orders_one_live_idx ON acme_orders (domain_id)
    WHERE status IN ('pending', 'ready', 'processing');

-- RFC 8555 §7.1.4 / §8.4: the dns-01 challenge of an order's authorization.
CREATE TABLE acme_challenges (
    id                bigserial PRIMARY KEY,
    order_id          text NOT NULL REFERENCES acme_orders (id) ON DELETE CASCADE,
    authorization_url text NOT NULL,
    challenge_url     text NOT NULL,
    token             text NOT NULL,
    txt_name          text NOT NULL,
    txt_value         text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, authorization_url)
);

CREATE TABLE certificates (
    id                     text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    domain_id              text NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    order_id               text REFERENCES acme_orders (id),
    certificate_pem        text NOT NULL,      -- leaf
    chain_pem              text NOT NULL,      -- issuer chain
    private_key_ciphertext text NOT NULL,
    key_id                 text NOT NULL,
    issued_at              timestamptz NOT NULL, -- the certificate's notBefore
    expires_at             timestamptz NOT NULL, -- the certificate's notAfter
    created_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX certificates_domain_newest_idx ON certificates (domain_id, created_at DESC);
CREATE UNIQUE INDEX certificates_one_per_order_idx ON certificates (order_id) WHERE order_id IS NOT NULL;
