-- Retry bookkeeping for the scheduler's exponential backoff: CA errors worth retrying since the
-- order last moved on to a new step.
ALTER TABLE acme_orders ADD COLUMN retries integer NOT NULL DEFAULT 0;
