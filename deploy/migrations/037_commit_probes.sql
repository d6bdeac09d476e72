-- A row no one reads: a process whose commit went unanswered past its bound (a synchronous
-- standby away) holds its writes back and updates this row now and then to learn when commits
-- are confirmed again (shared/db/commit_wait.hpp). A probe left unanswered is cancelled, which
-- makes it on the primary alone: harmless here, unlike a customer's write.
CREATE TABLE commit_probes (
    id integer PRIMARY KEY CHECK (id = 1),
    probed_at timestamptz NOT NULL DEFAULT now()
);
