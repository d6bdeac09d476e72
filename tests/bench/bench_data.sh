# Sourced by the benchmarks (tests/bench/api, tests/bench/instructions); needs sql().

# Domains of every status, newest certificates for the active ones (dummy PEM text: the view
# shows metadata only), inserted by SQL up to $1 rows in all.
fill_domains() {
    local total=$1
    # Each row with the delegation label registration stores (shared/domain/delegation.cpp: the
    # first 32 hex digits of HMAC-SHA256 under the token of "dns-handling delegation:" and the
    # name), computed here by pgcrypto (a contrib module PostgreSQL ships; the service itself
    # does not use it).
    sql "CREATE EXTENSION IF NOT EXISTS pgcrypto"
    sql "INSERT INTO domains (id, domain_name, verification_token, status, verified_at,
                              created_at, updated_at, delegation_label)
         SELECT md5('bench-' || i), name, token,
                status, CASE WHEN status <> 'pending' THEN now() END,
                now() - (i || ' seconds')::interval, now(),
                left(encode(hmac('dns-handling delegation:' || name, token, 'sha256'), 'hex'), 32)
         FROM generate_series((SELECT count(*) FROM domains) + 1, $total) AS i,
              LATERAL (SELECT (ARRAY['pending','verified','active','active','failed'])[1 + i % 5]
                       AS status, 'd' || i || '.bench.example' AS name,
                       md5('t' || i) || md5('u' || i) AS token) s
         ON CONFLICT DO NOTHING"
    # The certificates in one statement with the row triggers off (session_replication_role):
    # one trigger refresh of the domain's view row per certificate took over 15 minutes for a
    # million domains. What those triggers keep is then set the way they set it: overdue_at by
    # the insert, the view rows from domain_view_source in one statement (the edge agent's events
    # and the metric row counts are not kept: no benchmark reads them).
    sql "SET session_replication_role = replica;
         INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem,
                                   private_key_ciphertext, key_id, issued_at, expires_at, renew_at,
                                   overdue_at)
         SELECT md5('cert-' || d.id), d.id, 'bench', 'bench', 'bench', 'bench', now(),
                now() + interval '90 days', now() + interval '60 days', now() + interval '81 days'
         FROM domains d WHERE d.status = 'active'
         AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.domain_id = d.id);
         INSERT INTO domain_views SELECT s.* FROM domain_view_source s
          WHERE s.cert_id IS NOT NULL ON CONFLICT (domain_id) DO NOTHING"
    # Each new domain appended a row to metric_row_deltas (025_registration_deltas.sql); folded
    # here, before the vacuum, rather than by the running scheduler at a moment of its choosing.
    sql "SELECT metric_row_deltas_fold(NULL)" >/dev/null
    # A bulk load leaves what a table filled over months never has all at once: a million rows
    # whose first vacuum (hint bits, the visibility map) and dirty pages are still to come.
    # Done here, before any clock runs, instead of by autovacuum and a checkpoint in the middle
    # of a measured round (the load average was 5 in the first run after the fill without it).
    sql "VACUUM (ANALYZE)"
    sql "CHECKPOINT"
    # The test stack runs with fsync off: the checkpoint hands its pages to the kernel, which
    # writes them back up to 30 s later (vm.dirty_expire_centisecs), in a measured round. Written
    # now. (A 4 GB write-back next to wrk here: the db floor's p99 2.7 -> 42-53 ms, GET's 3.8 ->
    # 13-30 ms.)
    sync
}
