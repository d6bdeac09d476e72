-- /metrics counters added exactly once (README "Metrics"): each flusher (metrics/flusher.hpp, one
-- per process, a random id) numbers its batches of counts 1, 2, ... and stores a batch's number
-- here in the transaction that adds it to metric_counters. A batch whose COMMIT answer was lost
-- is sent again, alone, under the same number; if it committed, its number is here and the retry
-- adds nothing (it was added twice before). A flusher sends a batch only once the one before is
-- stored, so the last number is all it needs: one row per flusher, not one per flush. Rows of
-- flushers gone a day are deleted by dns-scheduler's heartbeat.
CREATE TABLE metric_counter_batches (
    flusher   text        PRIMARY KEY,
    batch     bigint      NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
