-- Issue 18 #9: the row-count slots of metric_row_counts (007_metrics.sql) made transactions about
-- unrelated domains wait for each other. A backend took slot pid % 16, so two backends could share
-- one, and a transaction keeps the counter rows it changed locked until it ends: a delete of one
-- domain waited for the whole issuance transaction of another (tests/integration/
-- lock_order_test.cpp), a wait DB_LOCK_TIMEOUT now turns into a 503. Only the order in which
-- every transaction happens to touch its counters (domains:* before certificates:newest; a
-- cascaded delete's statement triggers fire after its parent's) kept such a pair from deadlocking,
-- and any future transaction that counts in another order would.
--
-- Now a transaction reserves a slot of its own for its whole life (a transaction-level advisory
-- lock, tried slot by slot from pid % 64) before it touches a counter, and keeps it for every
-- counter it changes: no two transactions write one slot's rows at the same time, so they neither
-- wait on each other nor depend on the order they count in. Only when all 64 slots are reserved
-- does a transaction wait, for its first choice, before it holds any counter row.
CREATE OR REPLACE FUNCTION metric_row_counts_add(changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    slots    constant integer := 64;
    -- The advisory lock space of these slots ("mslt"): nothing else in the service uses it.
    lock_key constant integer := 1836282996;
    chosen   integer := nullif(current_setting('dnsh.metric_row_slot', true), '')::integer;
    start_at integer;
BEGIN
    IF chosen IS NULL THEN
        start_at := pg_backend_pid() % slots;
        FOR i IN 0 .. slots - 1 LOOP
            IF pg_try_advisory_xact_lock(lock_key, (start_at + i) % slots) THEN
                chosen := (start_at + i) % slots;
                EXIT;
            END IF;
        END LOOP;
        IF chosen IS NULL THEN
            chosen := start_at;
            PERFORM pg_advisory_xact_lock(lock_key, chosen);
        END IF;
        -- Transaction-local: the next transaction of this backend reserves afresh.
        PERFORM set_config('dnsh.metric_row_slot', chosen::text, true);
    END IF;
    -- Counters in key order, as before (within the reserved slot nobody else writes).
    INSERT INTO metric_row_counts AS m (counter, slot, value)
    SELECT key, chosen, value::bigint FROM jsonb_each_text(changes)
     WHERE value::bigint <> 0 ORDER BY key
    ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + EXCLUDED.value;
END
$$;
