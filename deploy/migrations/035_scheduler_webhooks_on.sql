-- Whether each scheduler replica runs with WEBHOOK_URL set (README "Webhooks"), written with its
-- heartbeat: a /metrics handler with webhooks off still shows the real webhook backlog while a
-- live replica delivers, so a handler that lost WEBHOOK_URL hides no outage of the receiver.
-- A replica older than this column leaves it false: such a handler shows 0, as before.
ALTER TABLE scheduler_heartbeats ADD COLUMN webhooks_on boolean NOT NULL DEFAULT false;
