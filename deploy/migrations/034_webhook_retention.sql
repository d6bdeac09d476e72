-- The outbox's finished events go (README "Webhooks", WEBHOOK_RETENTION): the scheduler's
-- heartbeat deletes delivered events some time after delivery and dead ones some time after
-- their last try (WebhookStore::pruneFinished), a batch at a time, oldest first. One index for
-- both states, on when each finished (a dead event's next_attempt_at is the end of its retry
-- window): each prune is one range scan of it, and a table that grew unpruned is read once for
-- it, not once per state.
-- Each CREATE INDEX here reads the whole table while it holds writes to it (this migration is
-- one transaction): on a table that grew unpruned, state changes that write an event wait that
-- long, on every host (README "Upgrade"). Two indexes, so two reads of its heap.
CREATE INDEX webhook_events_finished_idx ON webhook_events
    ((CASE state WHEN 'delivered' THEN delivered_at ELSE next_attempt_at END))
    WHERE state IN ('delivered', 'dead');

-- A domain's last event in any state but dead (recordDomainEvent: is delegation.lost already
-- told?), read under the domain's row lock: without it that look walks the table's history
-- backwards. The pending-only index of 006 cannot serve it, nor can the one above.
CREATE INDEX webhook_events_domain_idx ON webhook_events (domain_id, id);
