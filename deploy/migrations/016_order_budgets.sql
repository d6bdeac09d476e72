-- Issue 21: an order budget per CA account (README "Order budgets"), shared by every handler
-- process and scheduler replica: one token bucket per CA, keyed by its ACME directory URL,
-- spent and refilled by issuance/order_budget.cpp in single statements on the database's clock.
CREATE TABLE ca_order_budgets (
    directory_url text PRIMARY KEY,
    -- The spec of the last spend or refund (ORDER_BUDGET "orders/period"): the bucket's size and
    -- refill rate, kept so that /metrics can apply the refill when it reads the level.
    capacity integer NOT NULL CHECK (capacity > 0),
    period_ms bigint NOT NULL CHECK (period_ms > 0),
    -- Orders left as of computed_at; refilled at capacity/period up to capacity.
    tokens double precision NOT NULL CHECK (tokens >= 0),
    computed_at timestamptz NOT NULL,
    -- Since when fewer than one token is left (a spend would be refused); NULL while one is.
    empty_since timestamptz,
    -- Whether the last spend was granted: RETURNING sees only the new row, so the upsert that
    -- decides writes its decision here to hand it back.
    last_spend_granted boolean NOT NULL DEFAULT true,
    CHECK ((tokens < 1) = (empty_since IS NOT NULL))
);
