-- /metrics (README "Metrics"). Counters are summed here across every handler process and scheduler
-- replica: each process adds what it counted since its last flush (an UPSERT every few seconds),
-- /metrics reads the totals. Rows are bounded by the label sets (no ids, no names).
CREATE TABLE metric_counters (
    name       text NOT NULL,              -- dnsh_orders_total, dnsh_..._bucket, _sum, _count
    labels     text NOT NULL DEFAULT '',   -- as exposed: route="/domains",method="GET"
    value      double precision NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, labels)
);

-- Each scheduler replica writes its row every few seconds; /metrics counts the recent ones.
CREATE TABLE scheduler_heartbeats (
    replica      text PRIMARY KEY,         -- host:pid
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- The state gauges at a bounded cost with millions of domains: nothing a scrape reads scans a
-- whole table.
--
-- Row counts (domains by status, newest certificates) are kept by statement triggers in
-- metric_row_counts, in the transaction that changes the rows. Each backend adds to its own slot
-- (pid % 16), so concurrent writers rarely wait on one counter row; a scrape sums the slots.
CREATE TABLE metric_row_counts (
    counter text    NOT NULL,  -- 'domains:<status>', 'certificates:newest'
    slot    integer NOT NULL,
    value   bigint  NOT NULL,
    PRIMARY KEY (counter, slot)
);

CREATE FUNCTION metric_row_counts_add(changes jsonb) RETURNS void LANGUAGE sql AS $$
    -- Counters in key order, so two writers lock their rows in the same order.
    INSERT INTO metric_row_counts (counter, slot, value)
    SELECT key, pg_backend_pid() % 16, value::bigint FROM jsonb_each_text(changes)
     WHERE value::bigint <> 0 ORDER BY key
    ON CONFLICT (counter, slot) DO UPDATE SET value = metric_row_counts.value + EXCLUDED.value
$$;

-- Newest certificate of each domain (what the domain view shows): superseded_at is set on the
-- older one when a newer one is stored. overdue_at: the last tenth of the lifetime begins.
ALTER TABLE certificates
    ADD COLUMN superseded_at timestamptz,
    ADD COLUMN overdue_at    timestamptz;

UPDATE certificates SET overdue_at = expires_at - (expires_at - issued_at) / 10;
UPDATE certificates c SET superseded_at = now()
 WHERE EXISTS (SELECT 1 FROM certificates n WHERE n.domain_id = c.domain_id
                 AND (n.created_at, n.id) > (c.created_at, c.id));

CREATE FUNCTION certificates_mark_newest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.overdue_at := NEW.expires_at - (NEW.expires_at - NEW.issued_at) / 10;
    IF EXISTS (SELECT 1 FROM certificates WHERE domain_id = NEW.domain_id
                 AND (created_at, id) > (NEW.created_at, NEW.id)) THEN
        NEW.superseded_at := now();  -- stored after a newer one (imports, tests)
    ELSE
        UPDATE certificates SET superseded_at = now()
         WHERE domain_id = NEW.domain_id AND superseded_at IS NULL AND id <> NEW.id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER certificates_mark_newest BEFORE INSERT ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_mark_newest();

-- The buckets of dnsh_certificates, the soonest expiry, overdue and failing renewals: range scans
-- over the newest certificates only.
CREATE INDEX certificates_newest_expiry_idx ON certificates (expires_at) WHERE superseded_at IS NULL;
CREATE INDEX certificates_newest_overdue_idx ON certificates (overdue_at) WHERE superseded_at IS NULL;
CREATE INDEX certificates_newest_failing_idx ON certificates (domain_id)
    WHERE superseded_at IS NULL AND renewal_failures > 0;

-- Transition tables exist only for their own operation (PostgreSQL plans a statement when it
-- first runs), hence one branch per operation.
CREATE FUNCTION domains_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter LIKE 'domains:%';
    ELSIF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg('domains:' || status, n) INTO changes
          FROM (SELECT status, count(*) AS n FROM new_rows GROUP BY status) s;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_object_agg('domains:' || status, -n) INTO changes
          FROM (SELECT status, count(*) AS n FROM old_rows GROUP BY status) s;
    ELSE
        -- Updates that keep the status add and take away the same: nothing is written.
        SELECT jsonb_object_agg('domains:' || status, n) INTO changes
          FROM (SELECT status, sum(d) AS n FROM (SELECT status, 1 AS d FROM new_rows
                                                 UNION ALL SELECT status, -1 FROM old_rows) x
                 GROUP BY status) s
         WHERE n <> 0;
    END IF;
    IF changes IS NOT NULL THEN PERFORM metric_row_counts_add(changes); END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER domains_count_inserted AFTER INSERT ON domains
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION domains_count_rows();
CREATE TRIGGER domains_count_updated AFTER UPDATE ON domains
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION domains_count_rows();
CREATE TRIGGER domains_count_deleted AFTER DELETE ON domains
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION domains_count_rows();
CREATE TRIGGER domains_count_truncated AFTER TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION domains_count_rows();

CREATE FUNCTION certificates_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter = 'certificates:newest';
    ELSIF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO n FROM new_rows WHERE superseded_at IS NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT -count(*) INTO n FROM old_rows WHERE superseded_at IS NULL;
    ELSE
        SELECT (SELECT count(*) FROM new_rows WHERE superseded_at IS NULL) -
               (SELECT count(*) FROM old_rows WHERE superseded_at IS NULL) INTO n;
    END IF;
    IF n <> 0 THEN
        PERFORM metric_row_counts_add(jsonb_build_object('certificates:newest', n));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER certificates_count_inserted AFTER INSERT ON certificates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION certificates_count_rows();
CREATE TRIGGER certificates_count_updated AFTER UPDATE ON certificates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION certificates_count_rows();
CREATE TRIGGER certificates_count_deleted AFTER DELETE ON certificates
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION certificates_count_rows();
CREATE TRIGGER certificates_count_truncated AFTER TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION certificates_count_rows();

-- What the tables hold now.
INSERT INTO metric_row_counts (counter, slot, value)
SELECT 'domains:' || status, 0, count(*) FROM domains GROUP BY status;
INSERT INTO metric_row_counts (counter, slot, value)
SELECT 'certificates:newest', 0, count(*) FROM certificates WHERE superseded_at IS NULL;
