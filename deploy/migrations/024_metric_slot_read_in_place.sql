-- Issue 22: the row counts of metric_row_counts (020_session_metric_slots.sql) read their slot
-- where they write it.
--
-- metric_row_slot() is a PL/pgSQL function of its own: every call is a function call set up and
-- torn down by PostgreSQL, about 17,000 instructions (callgrind of a backend), nearly all of it
-- to read one session setting. The INSERT branch of domains_count_rows() called it once per
-- statement, metric_row_counts_add() once per counter it writes (a change of a domain's status
-- writes two). Now both read the setting in place and call metric_row_slot() only when it is not
-- there yet: a backend's first count, or the first after a rolled-back transaction undid the
-- setting (metric_row_slot() then finds the slot the backend still holds, as before).
--
-- Instructions per statement, one backend, pgbench -M prepared, the old and the new functions in
-- turns, twice: the INSERT a POST /domains makes 374k -> 363k; an UPDATE that changes a domain's
-- status 462k -> 444k (one that keeps it writes no counter and does not change).
--
-- Same slots, same rows, same order of counters (ORDER BY key) as 020.
CREATE OR REPLACE FUNCTION metric_row_counts_add(changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    my_slot integer := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
BEGIN
    IF my_slot IS NULL THEN
        my_slot := metric_row_slot();
    END IF;
    -- Counters in key order (only the shared slot -1 can be written by two backends at once).
    INSERT INTO metric_row_counts AS m (counter, slot, value)
    SELECT key, my_slot, value::bigint FROM jsonb_each_text(changes)
     WHERE value::bigint <> 0 ORDER BY key
    ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + EXCLUDED.value;
END
$$;

CREATE OR REPLACE FUNCTION domains_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    my_slot integer;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter LIKE 'domains:%';
    ELSIF TG_OP = 'INSERT' THEN
        my_slot := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
        IF my_slot IS NULL THEN
            my_slot := metric_row_slot();
        END IF;
        INSERT INTO metric_row_counts AS m (counter, slot, value)
        SELECT 'domains:' || status, my_slot, count(*) FROM new_rows
         GROUP BY status ORDER BY 1
        ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + EXCLUDED.value;
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
