-- What the domain view shows besides the domain's own row — its current certificate, its live
-- order with the values that order waits for, and the renewal order that last failed to replace
-- the current certificate — kept in one row per domain by triggers on the tables it comes from.
-- GET /domains/{id} then reads two rows by primary key instead of joining three tables, probing
-- for the last failed renewal and aggregating challenges on every read (0.47x of the FastCGI
-- floor before, see README "Benchmark"). A domain with none of these has no row here.

-- The view's source, computed: the triggers store it, tests compare the stored rows with it.
CREATE VIEW domain_view_source AS
SELECT d.id AS domain_id,
       c.id AS cert_id, c.issued_at AS cert_issued_at, c.expires_at AS cert_expires_at,
       c.created_at AS cert_created_at, c.renew_at AS cert_renew_at,
       o.id AS live_id, o.kind AS live_kind, o.step AS live_step,
       coalesce(o.delegated, false) AS live_delegated,
       CASE WHEN o.step IN ('await_dns', 'await_authz') THEN
           (SELECT json_agg(json_build_array(txt_name, txt_value) ORDER BY id)::text
              FROM acme_challenges WHERE order_id = o.id)
       END AS live_challenges,
       r.error AS renewal_error, r.error_code AS renewal_error_code
  FROM domains d
  LEFT JOIN certificates c ON c.domain_id = d.id AND c.superseded_at IS NULL
  LEFT JOIN acme_orders o ON o.domain_id = d.id AND o.status IN ('pending', 'ready', 'processing')
  LEFT JOIN LATERAL (SELECT error, error_code FROM acme_orders
                      WHERE replaces_certificate_id = c.id AND status = 'invalid'
                      ORDER BY created_at DESC LIMIT 1) r ON true;

CREATE TABLE domain_views (
    domain_id          text PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    cert_id            text,
    cert_issued_at     timestamptz,
    cert_expires_at    timestamptz,
    cert_created_at    timestamptz,
    cert_renew_at      timestamptz,
    live_id            text,
    live_kind          text,
    live_step          text,
    live_delegated     boolean NOT NULL,
    live_challenges    text,
    renewal_error      text,
    renewal_error_code text
);

-- Recomputes one domain's row; writes only when something changed. Nothing happens for a domain
-- deleted in this transaction (its row goes with it, ON DELETE CASCADE). PL/pgSQL keeps the
-- statement's plan for the session; an SQL-language function would plan the joins on every call
-- (the issuance benchmark's store step went from 1 ms to 8 ms with one).
CREATE FUNCTION refresh_domain_view(target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_views AS v
    SELECT * FROM domain_view_source WHERE domain_id = target
    ON CONFLICT (domain_id) DO UPDATE SET
        cert_id = EXCLUDED.cert_id, cert_issued_at = EXCLUDED.cert_issued_at,
        cert_expires_at = EXCLUDED.cert_expires_at, cert_created_at = EXCLUDED.cert_created_at,
        cert_renew_at = EXCLUDED.cert_renew_at, live_id = EXCLUDED.live_id,
        live_kind = EXCLUDED.live_kind, live_step = EXCLUDED.live_step,
        live_delegated = EXCLUDED.live_delegated, live_challenges = EXCLUDED.live_challenges,
        renewal_error = EXCLUDED.renewal_error, renewal_error_code = EXCLUDED.renewal_error_code
    WHERE v IS DISTINCT FROM EXCLUDED;
END
$$;

-- certificates and acme_orders carry domain_id; acme_challenges reach it through their order.
CREATE FUNCTION domain_views_follow_domain_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM refresh_domain_view(NEW.domain_id);
    END IF;
    IF TG_OP = 'DELETE' OR OLD.domain_id IS DISTINCT FROM NEW.domain_id THEN
        PERFORM refresh_domain_view(OLD.domain_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION domain_views_follow_challenge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM refresh_domain_view(domain_id) FROM acme_orders WHERE id = NEW.order_id;
    END IF;
    IF TG_OP = 'DELETE' OR OLD.order_id IS DISTINCT FROM NEW.order_id THEN
        PERFORM refresh_domain_view(domain_id) FROM acme_orders WHERE id = OLD.order_id;
    END IF;
    RETURN NULL;
END
$$;

-- Only the columns the view shows: a lease, an attempt count or an ARI fetch time moves nothing.
CREATE TRIGGER domain_views_certificates
    AFTER INSERT OR DELETE OR UPDATE OF domain_id, issued_at, expires_at, created_at, renew_at,
        superseded_at ON certificates
    FOR EACH ROW EXECUTE FUNCTION domain_views_follow_domain_row();
CREATE TRIGGER domain_views_orders
    AFTER INSERT OR DELETE OR UPDATE OF domain_id, status, step, kind, delegated, error, error_code,
        replaces_certificate_id, created_at ON acme_orders
    FOR EACH ROW EXECUTE FUNCTION domain_views_follow_domain_row();
CREATE TRIGGER domain_views_challenges
    AFTER INSERT OR DELETE OR UPDATE OF order_id, txt_name, txt_value ON acme_challenges
    FOR EACH ROW EXECUTE FUNCTION domain_views_follow_challenge();

INSERT INTO domain_views
SELECT * FROM domain_view_source
 WHERE cert_id IS NOT NULL OR live_id IS NOT NULL OR renewal_error IS NOT NULL;
