-- dns-01 values the service published in the delegation zone (README "Zero-touch: one CNAME,
-- then nothing") that are still to be removed, and which the scheduler's sweep removes
-- (issuance/delegation_cleanup.hpp). Before this, a value stayed in the zone for good when its
-- domain was deleted while the order waited (the order and its challenges went with the domain,
-- and no process had the update key and knew the value any more), when the primary did not take
-- the delete after the order finished (logged once, never tried again), or when the scheduler
-- stopped between storing the order's final state and removing the value.
--
-- Written by DELETE /domains/{id} in the delete's transaction (every value the domain's orders
-- have published, or may be publishing right then), by the scheduler when a delete failed, and
-- by the sweep for a finished order whose challenge still records its value as published some
-- minutes after it finished. No foreign key: a row outlives the domain and order it came from.
-- One row per name and value: the delete removes exactly that value (RFC 2136 §2.5.4), and only
-- once no live order has the same value.
CREATE TABLE delegation_cleanup (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL,    -- the delegation target, as acme_challenges.published_at_name
    value           text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    -- Given up: still failing 3 days after the row was written, or a name outside
    -- DELEGATION_ZONE (the zone was changed). Kept for the operator; never tried again.
    abandoned_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, value)
);

-- The sweep's claim: the due rows by time.
CREATE INDEX delegation_cleanup_due_idx ON delegation_cleanup (next_attempt_at)
    WHERE abandoned_at IS NULL;

-- Values recorded as published: few at any time (those of orders in flight, and what a failed
-- delete left). The sweep looks for finished orders' among them, and clears them by name once
-- removed.
CREATE INDEX acme_challenges_published_idx ON acme_challenges (published_at_name)
    WHERE published_at_name IS NOT NULL;
