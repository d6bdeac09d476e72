-- The outbox's finished events go (README "Webhooks", WEBHOOK_RETENTION): the scheduler's
-- heartbeat deletes delivered events some time after delivery and dead ones some time after
-- their last try (WebhookStore::pruneFinished), a batch at a time, each a range scan of one of
-- these partial indexes. A dead event's next_attempt_at is the end of its retry window.
-- Building them locks webhook_events against writes (this migration is one transaction): on a
-- table that grew unpruned, a few seconds per million rows, during which state changes that
-- write an event wait.
CREATE INDEX webhook_events_delivered_idx ON webhook_events (delivered_at)
    WHERE state = 'delivered';
CREATE INDEX webhook_events_dead_idx ON webhook_events (next_attempt_at)
    WHERE state = 'dead';

-- A domain's last event in any state but dead (recordDomainEvent: is delegation.lost already
-- told?), read under the domain's row lock: without it that look walks the table's history
-- backwards. The pending-only index of 006 cannot serve it.
CREATE INDEX webhook_events_domain_idx ON webhook_events (domain_id, id);
