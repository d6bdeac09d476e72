-- Issue 22: a new domain is counted by appending a row, not by a statement trigger.
--
-- The statement trigger of 007/020/024 counted an INSERT into domains from its transition table
-- with an INSERT ... ON CONFLICT DO UPDATE into metric_row_counts: about 129,000 of the 363,000
-- instructions of the insert a POST /domains makes (callgrind of a backend; with no trigger at all
-- 234,000), and under wrk POST /domains served 12-15% more requests a second with that trigger
-- disabled (README "Benchmark").
-- A row trigger that updated the counter row instead was tried and dropped: a multi-row INSERT
-- updated one row once per inserted row within one transaction, each update walking that row's
-- growing chain of versions (the benchmark's fill of a million domains did not finish).
--
-- Now each new domain appends one row to metric_row_deltas, a table without indexes or keys:
-- no counter row is updated or locked, a multi-row INSERT appends as many rows, and the trigger
-- costs about 33,000 instructions (267,000 for the whole insert). A count is the sum of both
-- tables, read in one statement (one snapshot), so it is exact at every moment. dns-scheduler
-- folds the appended rows into metric_row_counts at each heartbeat (at least every 5 s, up to
-- 100,000 rows each time, metric_row_deltas_fold() below); without a running scheduler they
-- stay, one small row per registered domain, and are still counted.
--
-- Updates and deletes of domains and every change of certificates count as before, in the
-- backend's slot of metric_row_counts (020).
CREATE TABLE metric_row_deltas (
    counter text   NOT NULL,  -- as in metric_row_counts: 'domains:<status>'
    value   bigint NOT NULL
);
-- Rows come at the registration rate and go at each fold: vacuumed after every 10,000 dead rows
-- rather than after a fifth of a table that is nearly empty at every fold.
ALTER TABLE metric_row_deltas SET (autovacuum_vacuum_scale_factor = 0,
                                   autovacuum_vacuum_threshold = 10000);

CREATE FUNCTION domains_count_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_row_deltas (counter, value) VALUES ('domains:' || NEW.status, 1);
    RETURN NULL;
END
$$;
DROP TRIGGER domains_count_inserted ON domains;
CREATE TRIGGER domains_count_inserted AFTER INSERT ON domains
    FOR EACH ROW EXECUTE FUNCTION domains_count_delta();

-- The appended rows into the kept counts, in one statement: the rows it deletes are the ones it
-- adds. Rows of transactions still open when it runs are not visible to it and stay for the next
-- fold; a second fold running at the same time waits for the first's rows and then skips them
-- (deleted), so nothing is counted twice. At most max_rows rows a call (NULL: all), so that a
-- backlog (a bulk import, a scheduler stopped for long) is folded over several heartbeats, each
-- well within DB_STATEMENT_TIMEOUT, instead of failing at every one. Returns how many it folded.
CREATE FUNCTION metric_row_deltas_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    my_slot integer := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
    folded  bigint;
BEGIN
    IF my_slot IS NULL THEN
        my_slot := metric_row_slot();
    END IF;
    WITH moved AS (
        DELETE FROM metric_row_deltas
         WHERE ctid = ANY (ARRAY(SELECT ctid FROM metric_row_deltas LIMIT max_rows))
        RETURNING counter, value),
    added AS (
        -- Counters in key order (only the shared slot -1 can be written by two backends at once).
        INSERT INTO metric_row_counts AS m (counter, slot, value)
        SELECT counter, my_slot, sum(value) FROM moved GROUP BY counter ORDER BY counter
        ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + EXCLUDED.value
    )
    SELECT count(*) INTO folded FROM moved;
    RETURN folded;
END
$$;

-- The counts as a scrape reads them: both tables summed in one statement (one snapshot, so a fold
-- is seen whole). /metrics and the tests read this view rather than writing the sum again.
CREATE VIEW metric_row_totals AS
SELECT counter, sum(value)::bigint AS value
  FROM (SELECT counter, value FROM metric_row_counts
        UNION ALL SELECT counter, value FROM metric_row_deltas) both_tables
 GROUP BY counter;

-- As in 024, without the INSERT branch (the row trigger above counts inserts); a TRUNCATE
-- empties both tables' domain counts.
CREATE OR REPLACE FUNCTION domains_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter LIKE 'domains:%';
        DELETE FROM metric_row_deltas WHERE counter LIKE 'domains:%';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_object_agg('domains:' || status, -n) INTO changes
          FROM (SELECT status, count(*) AS n FROM old_rows GROUP BY status) s;
    ELSIF TG_OP = 'UPDATE' THEN
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
