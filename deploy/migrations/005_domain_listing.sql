-- GET /domains: newest first with keyset pagination (created_at, id), all or by status; a page
-- is an index range scan, as cheap with a million domains as with a thousand.
CREATE INDEX domains_newest_idx ON domains (created_at DESC, id DESC);
CREATE INDEX domains_status_newest_idx ON domains (status, created_at DESC, id DESC);
