-- Issue 18 #3 and #7 (README "How issuance and renewal work").

-- A domain whose issue order failed is retried after a backoff: issue-certificate answers 429
-- with Retry-After until issue_retry_at. issue_failures counts the failures in a row (the
-- backoff doubles with each); a domain only issues until it is active, so nothing resets it.
ALTER TABLE domains
    ADD COLUMN issue_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN issue_retry_at timestamptz;

ALTER TABLE acme_orders
    -- The next attempt is a DNS poll ("not visible yet"), which POST /domains/{id}/check may
    -- bring forward; false while the order waits out a backoff after an error (the CA's
    -- Retry-After, a zone that did not answer), which nothing brings forward.
    ADD COLUMN dns_poll boolean NOT NULL DEFAULT true,
    -- When POST /check last brought the poll forward: at most once per POLL_INTERVAL.
    ADD COLUMN dns_check_requested_at timestamptz;
