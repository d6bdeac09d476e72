-- Certificates on the TLS terminators (README, "Certificates on the TLS terminators"): what the
-- edge agents (dnsh-edge-sync) follow and what they report.

-- One row per change an edge must apply: a certificate stored, a domain deleted (its
-- certificates go with it, so only this row remembers the name). Written in the transaction of
-- the change, with a NOTIFY on channel dnsh_edge carrying the name; agents poll it by time as
-- the safety net (a NOTIFY is lost while an agent is disconnected). Kept for a day.
CREATE TABLE edge_events (
    id          bigserial PRIMARY KEY,
    domain_name text NOT NULL,
    happened_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX edge_events_happened_idx ON edge_events (happened_at);

CREATE FUNCTION edge_events_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    name text;
BEGIN
    IF TG_TABLE_NAME = 'certificates' THEN
        SELECT domain_name INTO name FROM domains WHERE id = NEW.domain_id;
    ELSE
        name := OLD.domain_name;
    END IF;
    IF name IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO edge_events (domain_name) VALUES (name);
    PERFORM pg_notify('dnsh_edge', name);
    -- Now and then, not on every write: two writers pruning the same rows would wait on each
    -- other.
    IF random() < 0.01 THEN
        DELETE FROM edge_events WHERE happened_at < now() - interval '1 day';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER edge_events_certificate_stored AFTER INSERT ON certificates
    FOR EACH ROW EXECUTE FUNCTION edge_events_record();
CREATE TRIGGER edge_events_domain_deleted AFTER DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION edge_events_record();

-- Each agent's heartbeat: applied_through says every certificate stored up to then is on its
-- edge (files, and HAProxy when it has one). /metrics: live agents, and how long the oldest
-- newest-certificate that a live agent has not applied has waited.
CREATE TABLE edge_agents (
    agent                  text PRIMARY KEY,  -- EDGE_AGENT_NAME, <host>:<EDGE_DIR> by default
    started_at             timestamptz NOT NULL DEFAULT now(),
    heartbeat_at           timestamptz NOT NULL DEFAULT now(),
    certificates           integer NOT NULL DEFAULT 0,
    failing                integer NOT NULL DEFAULT 0,
    applied_through        timestamptz,
    applied_certificate_id text
);

-- The undelivered age: the first newest certificate after an agent's applied_through.
CREATE INDEX certificates_newest_created_idx ON certificates (created_at) WHERE superseded_at IS NULL;
