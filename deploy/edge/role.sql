-- The PostgreSQL role of the edge agent (dnsh-edge-sync), with what it reads and nothing more
-- (README, "Certificates on the TLS terminators"): names of domains, the newest certificates
-- with their sealed keys (the KEK that opens them stays on the edge host), the change feed, and
-- its own heartbeat row. Run as the database owner after `dnsh-admin migrate`; give the role a
-- password or a certificate as your pg_hba.conf requires:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/edge/role.sql
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dnsh_edge') THEN
        CREATE ROLE dnsh_edge LOGIN;
    END IF;
END
$$;
GRANT SELECT (id, domain_name) ON domains TO dnsh_edge;
GRANT SELECT (id, domain_id, certificate_pem, chain_pem, private_key_ciphertext, created_at,
              superseded_at) ON certificates TO dnsh_edge;
GRANT SELECT (domain_name, happened_at) ON edge_events TO dnsh_edge;
GRANT SELECT, INSERT, UPDATE ON edge_agents TO dnsh_edge;
