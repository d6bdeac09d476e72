-- Issue 22: a new domains row is counted (metric_row_counts, 007_metrics.sql and 020) by a row
-- trigger, not by the statement trigger with its transition table.
--
-- The statement trigger ran, for every INSERT, a statement that PostgreSQL set up afresh each
-- time: a scan of the transition table, a sort, an aggregate and an INSERT ... ON CONFLICT, about
-- 138,000 of the backend's instructions per POST /domains (callgrind), where the rest of the
-- INSERT took 220,000. A row trigger adds one to its counter with a plain UPDATE by primary key
-- (85,000 in all); only a counter row that does not exist yet is inserted. The slot is read
-- straight from the session setting (020): metric_row_slot() is called only when none is set.
-- A statement inserting many rows now counts row by row; no path of the service does that.
-- Updates, deletes and TRUNCATE keep their statement triggers.
CREATE FUNCTION domains_count_inserted_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counter_name constant text := 'domains:' || NEW.status;
    slot_held    constant integer :=
        coalesce(nullif(current_setting('dnsh.metric_row_slot', true), '')::integer,
                 metric_row_slot());
BEGIN
    UPDATE metric_row_counts SET value = value + 1
     WHERE counter = counter_name AND slot = slot_held;
    IF NOT FOUND THEN
        INSERT INTO metric_row_counts AS m (counter, slot, value) VALUES (counter_name, slot_held, 1)
        ON CONFLICT (counter, slot) DO UPDATE SET value = m.value + 1;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER domains_count_inserted ON domains;
CREATE TRIGGER domains_count_inserted AFTER INSERT ON domains
    FOR EACH ROW EXECUTE FUNCTION domains_count_inserted_row();

-- The statement trigger's INSERT branch is gone with it.
CREATE OR REPLACE FUNCTION domains_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM metric_row_counts WHERE counter LIKE 'domains:%';
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
