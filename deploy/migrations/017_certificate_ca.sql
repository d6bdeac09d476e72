-- Issue 21: several CAs (README "Several CAs"). A certificate records the CA that issued it, by
-- its directory URL: the domain view's certificate.ca, and where ARI asks about it.
ALTER TABLE certificates ADD COLUMN ca text;
UPDATE certificates c SET ca = a.directory_url
  FROM acme_orders o JOIN acme_accounts a ON a.id = o.account_id
 WHERE o.id = c.order_id;

-- In the domain view, appended last (table and view), so SELECT * still lines up.
ALTER TABLE domain_views ADD COLUMN cert_ca text;

CREATE OR REPLACE VIEW domain_view_source AS
SELECT d.id AS domain_id,
       c.id AS cert_id, c.issued_at AS cert_issued_at, c.expires_at AS cert_expires_at,
       c.created_at AS cert_created_at, c.renew_at AS cert_renew_at,
       o.id AS live_id, o.kind AS live_kind, o.step AS live_step,
       coalesce(o.delegated, false) AS live_delegated,
       CASE WHEN o.step IN ('await_dns', 'await_authz') THEN
           (SELECT json_agg(json_build_array(txt_name, txt_value) ORDER BY id)::text
              FROM acme_challenges WHERE order_id = o.id)
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

UPDATE domain_views v SET cert_ca = c.ca FROM certificates c WHERE c.id = v.cert_id;
