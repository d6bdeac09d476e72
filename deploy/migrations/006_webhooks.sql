-- The webhook outbox (README "Webhooks"): one row per event, written in the transaction of the
-- change it reports, delivered by the scheduler. `id` orders a domain's events; no foreign key on
-- domain_id, since domain.deleted outlives its domain.
CREATE TABLE webhook_events (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL UNIQUE,  -- webhook-id, the same on every attempt
    domain_id        text NOT NULL,
    type             text NOT NULL,
    payload          text NOT NULL,         -- the exact body sent and signed
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    last_error       text,
    -- The retry window runs from here: an event held back behind an older one of its domain
    -- loses none of it while it waits.
    first_attempt_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);

-- What the claim looks at: the undelivered events, by domain in order, and by due time.
CREATE INDEX webhook_events_pending_domain_idx ON webhook_events (domain_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_events_pending_due_idx ON webhook_events (next_attempt_at, id)
    WHERE state = 'pending';
