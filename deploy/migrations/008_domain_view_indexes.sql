-- The domain view (GET /domains/{id}, list items) reads the newest certificate and the renewal
-- order that last failed to replace it; both become one index probe (before: an incremental
-- sort on (created_at, id), and a scan of acme_orders for every view).
DROP INDEX certificates_domain_newest_idx;
CREATE INDEX certificates_domain_newest_idx ON certificates (domain_id, created_at DESC, id DESC);
CREATE INDEX acme_orders_failed_renewal_idx ON acme_orders (replaces_certificate_id, created_at DESC)
    WHERE status = 'invalid';
