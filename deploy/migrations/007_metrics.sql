-- /metrics (DESIGN.md "Observability"). Counters are summed here across every handler process and
-- scheduler replica: each process adds what it counted since its last flush (an UPSERT every few
-- seconds), /metrics reads the totals. Rows are bounded by the label sets (no ids, no names).
CREATE TABLE metric_counters (
    name       text NOT NULL,              -- dnsh_orders_total, dnsh_..._bucket, _sum, _count
    labels     text NOT NULL DEFAULT '',   -- as exposed: route="/domains",method="GET"
    value      double precision NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, labels)
);

-- Each scheduler replica writes its row every few seconds; /metrics counts the recent ones.
CREATE TABLE scheduler_heartbeats (
    replica      text PRIMARY KEY,         -- host:pid
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
