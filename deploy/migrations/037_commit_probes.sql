-- Rows no one reads: a process whose commit went unanswered past its bound (a synchronous
-- standby away) holds its writes back and updates one of these now and then (one of 64 by its
-- server process, so that probes at once do not queue on one row) to learn when commits are
-- confirmed again (shared/db/commit_wait.hpp). A probe left unanswered is cancelled, which
-- makes it on the primary alone: harmless here, unlike a customer's write.
CREATE TABLE commit_probes (
    id integer PRIMARY KEY CHECK (id BETWEEN 0 AND 63),
    probed_at timestamptz NOT NULL DEFAULT now()
);
