-- Issue 22: the row counts of metric_row_counts (007_metrics.sql, 012_metric_slot_reservation.sql)
-- cost a POST /domains more than the rest of its INSERT: every statement that changed domains or
-- certificates reserved a slot afresh (up to 64 advisory try-locks and a transaction-local
-- set_config, undone at commit) and passed its counts through jsonb to a second PL/pgSQL
-- function. Measured on the insert a POST makes (one backend, pgbench, prepared): about 385 us of
-- backend CPU with the counting, 235 us with the trigger doing nothing.
--
-- Now a backend reserves its slot once, for its whole life (a session-level advisory lock,
-- remembered in a session setting), so a statement only reads the setting. The guarantee of
-- 012 holds: no two backends write one slot's rows, so no transaction waits on another's counter
-- rows or depends on the order they count in. The slot is the lowest free one, so the rows a
-- scrape sums stay about as many as backends that write at once. If every slot is taken (more
-- writing backends than slots), a transaction counts in the shared slot -1 and may then wait
-- there, as before 012.
--
-- A rolled-back transaction undoes the setting but not the session lock: the next statement
-- finds the slot it still holds in pg_locks instead of taking a second one.
CREATE FUNCTION metric_row_slot() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    slots    constant integer := 1024;
    -- The advisory lock space of these slots ("mslt", as in 012): nothing else uses it.
    lock_key constant integer := 1836282996;
    chosen   integer := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
BEGIN
    IF chosen IS NOT NULL THEN
        RETURN chosen;
    END IF;
    SELECT objid::integer INTO chosen FROM pg_locks
     WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = lock_key::oid
       AND objsubid = 2 AND granted
     LIMIT 1;
    IF chosen IS NULL THEN
        FOR i IN 0 .. slots - 1 LOOP
            IF pg_try_advisory_lock(lock_key, i) THEN
                chosen := i;
                EXIT;
            END IF;
        END LOOP;
    END IF;
    IF chosen IS NULL THEN
        RETURN -1;  -- every slot held by a live backend: the shared slot, rows locked as usual
    END IF;
    -- Session-wide (is_local false): every later transaction of this backend reads it.
    PERFORM set_config('dnsh.metric_row_slot', chosen::text, false);
    RETURN chosen;
END
$$;

CREATE OR REPLACE FUNCTION metric_row_counts_add(changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Counters in key order (only the shared slot -1 can be written by two backends at once).
    INSERT INTO metric_row_counts AS m (counter, slot, value)
    SELECT key, metric_row_slot(), value::bigint FROM jsonb_each_text(changes)
     WHERE value::bigint <> 0 ORDER BY key
    ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + EXCLUDED.value;
END
$$;

-- An INSERT (what POST /domains makes) counts its rows straight from the transition table: no
-- jsonb, no second function call.
CREATE OR REPLACE FUNCTION domains_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter LIKE 'domains:%';
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO metric_row_counts AS m (counter, slot, value)
        SELECT 'domains:' || status, metric_row_slot(), count(*) FROM new_rows
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
