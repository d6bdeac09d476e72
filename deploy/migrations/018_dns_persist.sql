-- Issue 21: dns-persist-01 (draft-ietf-acme-dns-persist-00; README "dns-persist-01: one record,
-- set once"). An authorization is answered with the challenge the customer's DNS allows: dns-01,
-- whose TXT value must be published, or dns-persist-01, whose record at _validation-persist is
-- already there (nothing to publish, nothing to list).
ALTER TABLE acme_challenges ADD COLUMN method text NOT NULL DEFAULT 'dns-01'
    CHECK (method IN ('dns-01', 'dns-persist-01'));

-- The domain view's validation_method (of the domain's latest order: dns-01, cname or
-- dns-persist-01) and checks.persist: the last _validation-persist lookup made while placing an
-- order, JSON text written by the service, capped before it is stored (as caa_check, 014).
ALTER TABLE domains ADD COLUMN validation_method text
    CHECK (validation_method IN ('dns-01', 'cname', 'dns-persist-01'));
ALTER TABLE domains ADD COLUMN persist_check text;

-- The values to publish are the dns-01 ones only; every column as in 017.
CREATE OR REPLACE VIEW domain_view_source AS
SELECT d.id AS domain_id,
       c.id AS cert_id, c.issued_at AS cert_issued_at, c.expires_at AS cert_expires_at,
       c.created_at AS cert_created_at, c.renew_at AS cert_renew_at,
       o.id AS live_id, o.kind AS live_kind, o.step AS live_step,
       coalesce(o.delegated, false) AS live_delegated,
       CASE WHEN o.step IN ('await_dns', 'await_authz') THEN
           (SELECT json_agg(json_build_array(txt_name, txt_value) ORDER BY id)::text
              FROM acme_challenges WHERE order_id = o.id AND method = 'dns-01')
       END AS live_challenges,
       r.error AS renewal_error, r.error_code AS renewal_error_code,
       c.profile AS cert_profile,
       c.ca AS cert_ca
  FROM domains d
  LEFT JOIN certificates c ON c.domain_id = d.id AND c.superseded_at IS NULL
  LEFT JOIN acme_orders o ON o.domain_id = d.id AND o.status IN ('pending', 'ready', 'processing')
  LEFT JOIN LATERAL (SELECT error, error_code FROM acme_orders
                      WHERE replaces_certificate_id = c.id AND status = 'invalid'
                      ORDER BY created_at DESC LIMIT 1) r ON true;

CREATE OR REPLACE FUNCTION refresh_domain_view(target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_views AS v
    SELECT * FROM domain_view_source WHERE domain_id = target
    ON CONFLICT (domain_id) DO UPDATE SET
        cert_id = EXCLUDED.cert_id, cert_issued_at = EXCLUDED.cert_issued_at,
        cert_expires_at = EXCLUDED.cert_expires_at, cert_created_at = EXCLUDED.cert_created_at,
        cert_renew_at = EXCLUDED.cert_renew_at, live_id = EXCLUDED.live_id,
        live_kind = EXCLUDED.live_kind, live_step = EXCLUDED.live_step,
        live_delegated = EXCLUDED.live_delegated, live_challenges = EXCLUDED.live_challenges,
        renewal_error = EXCLUDED.renewal_error, renewal_error_code = EXCLUDED.renewal_error_code,
        cert_profile = EXCLUDED.cert_profile, cert_ca = EXCLUDED.cert_ca
    WHERE v IS DISTINCT FROM EXCLUDED;
END
$$;
