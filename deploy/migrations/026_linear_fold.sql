-- Issue 22: the fold of 025 in time proportional to the rows it folds, whatever plan it gets.
--
-- 025 picked the rows to fold with `ctid = ANY (ARRAY(SELECT ctid ... LIMIT max_rows))`. The
-- heartbeat's session keeps PL/pgSQL's plan for as long as dns-scheduler runs, and the plan made
-- while metric_row_deltas was nearly empty scans the table and tests each row against the whole
-- array (the array is a parameter, so it is not hashed): rows x picked rows comparisons. Under
-- the API benchmark (6,000 registrations a second) one fold took 4.3 s of a core and another
-- 1.3 s; 100,000 rows took about 30 s, past DB_STATEMENT_TIMEOUT (15 s), so the fold would have
-- failed at every heartbeat while the backlog only grew.
--
-- Now the picked rows are joined to the table on ctid, and the function runs with nested loops
-- disabled: a hash join (tid is hashable) or a merge join, linear in the rows whatever the table
-- looked like when the plan was made (100,000 rows: 0.2-0.3 s). The rest is unchanged: the same
-- rows are locked and deleted, a second fold at the same time waits for them and skips them,
-- only committed registrations are taken, at most max_rows a call.
CREATE OR REPLACE FUNCTION metric_row_deltas_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    my_slot integer := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
    folded  bigint;
BEGIN
    IF my_slot IS NULL THEN
        my_slot := metric_row_slot();
    END IF;
    WITH moved AS (
        DELETE FROM metric_row_deltas d
         USING (SELECT ctid AS picked FROM metric_row_deltas LIMIT max_rows) batch
         WHERE d.ctid = batch.picked
        RETURNING d.counter, d.value),
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
