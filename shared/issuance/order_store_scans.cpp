#include "issuance/order_store.hpp"

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/domain_transition.hpp"
#include "domain/outbox.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_store_sql.hpp"

namespace dnsh {

using namespace order_sql;

int OrderStore::scheduleRenewals(int limit) {
    // One statement: the due certificates are locked (SKIP LOCKED: replicas split them), their
    // renew_at cleared and a renewal order inserted for each. A domain that already has a live
    // order (or is not active) is skipped and keeps its renew_at. The domain row is locked with
    // its certificate, as every writer locks it (lockDomain): a domain being deleted is skipped
    // (its row is locked) instead of waiting on it while holding the certificate its delete
    // cascades to next. The renewal is delegated when the domain's CNAME was seen (active, or
    // lost and looked for again): from the domain's row, not from this scheduler's
    // DELEGATION_ZONE (place_order leaves it to a scheduler that has the zone).
    const SqlRows created = runSql(session_, "WITH due AS ("
                "  SELECT c.id, c.domain_id, "
                "  d.delegation_status IN ('active', 'lost') AS delegated FROM certificates c "
                "  JOIN domains d ON d.id = c.domain_id AND d.status = 'active' "
                "  WHERE c.renew_at <= now() AND NOT EXISTS (SELECT 1 FROM acme_orders o "
                "    WHERE o.domain_id = c.domain_id AND o.status IN " +
                    std::string(kLive) +
                    ") "
                    "  ORDER BY c.renew_at LIMIT $1 "
                    "  FOR UPDATE OF c SKIP LOCKED FOR NO KEY UPDATE OF d SKIP LOCKED), "
                    "taken AS (UPDATE certificates SET renew_at = NULL FROM due "
                    "  WHERE certificates.id = due.id "
                    "  RETURNING due.id, due.domain_id, due.delegated) "
                    "INSERT INTO acme_orders (id, domain_id, kind, step, replaces_certificate_id, "
                    "  next_attempt_at, delegated) "
                    "SELECT replace(gen_random_uuid()::text, '-', ''), domain_id, 'renewal', "
                    "  'place_order', id, now(), delegated FROM taken RETURNING id",
        {limit});
    return static_cast<int>(created.size());
}

std::vector<AriDue> OrderStore::claimAriFetches(int limit, Poco::Int64 holdMs,
                                                const std::set<std::string>& directoryUrls) {
    // A certificate of a CA not configured here is left due, untouched, for a replica that has
    // that CA (replicas restarted one at a time to add one); before, a replica without it put
    // it off by ARI_MAX_WAIT, a day by default, unasked. One that no replica has any more stays
    // due, skipped by every scan, until its renewal supersedes it; a CA put back is asked about
    // it at its next scan.
    const SqlRows rows =
        runSql(session_,
               "UPDATE certificates c SET ari_next_fetch_at = now() + $2::bigint * interval '1 ms' "
               "FROM acme_orders o JOIN acme_accounts a ON a.id = o.account_id "
               "WHERE o.id = c.order_id AND c.id IN (SELECT due.id FROM certificates due "
               "  JOIN acme_orders due_order ON due_order.id = due.order_id "
               "  JOIN acme_accounts due_ca ON due_ca.id = due_order.account_id "
               "  WHERE due.ari_next_fetch_at <= now() AND due.superseded_at IS NULL "
               "  AND due_ca.directory_url = ANY($3::text[]) "
               "  ORDER BY due.ari_next_fetch_at LIMIT $1 FOR UPDATE OF due SKIP LOCKED) "
               "RETURNING c.id, c.certificate_pem, a.directory_url",
               {limit, holdMs, textArrayLiteral(directoryUrls)});
    std::vector<AriDue> due;
    for (int row = 0; row < rows.size(); ++row)
        due.push_back(AriDue{rows.text(row, "id"), rows.text(row, "certificate_pem"),
                             rows.text(row, "directory_url")});
    return due;
}

std::optional<AriRecorded> OrderStore::recordAri(const std::string& certificateId,
                                                 std::optional<Poco::Int64> renewAtEpochMs,
                                                 Poco::Int64 nextFetchMs) {
    const Poco::Int64 renewAt = renewAtEpochMs.value_or(-1);
    // The domain's row first (lockDomain's lock order): this UPDATE locks the certificate and
    // its renew_at trigger then rewrites the domain's view row. Alone, it took the certificate
    // and then the view row, while a renewal being stored or failing holds the domain row, then
    // the view row (its order's trigger), and then updates the domain's certificates: each
    // waited for the other and PostgreSQL aborted one (40P01), a renewal or an ari-refresh.
    // Two statements in one transaction, not one statement whose WITH query locks the domain:
    // PostgreSQL runs a WITH query only as far as the plan asks for its rows and documents no
    // order between its row locks and the main statement's. BEGIN, COMMIT and the lock are three
    // round trips more, on a path that has just waited for the CA's answer.
    std::optional<AriRecorded> stored;
    inTransaction(session_, [&] {
        // No row: the certificate went with its domain (deleted). Nothing to record.
        if (!lockDomainOfCertificate(session_, certificateId)) return true;
        // A renewal that failed keeps the retry time fail() set (its backoff, or the day's wait
        // after a lost delegation): a window that has come does not start it sooner, a later
        // one moves it later. A certificate a renewal has replaced meanwhile (superseded while
        // its renewalInfo was fetched) is left alone: nothing about it is due any more. The
        // CA's time is never taken past overdue_at, the certificate's last tenth (askRenewalInfo
        // says why, and warns; here for every caller): one after its expiry would let it lapse.
        const SqlRows rows = runSql(
            session_,
            "UPDATE certificates SET "
            "renew_at = CASE WHEN renew_at IS NULL OR $2::bigint < 0 THEN renew_at "
            "  WHEN renewal_failures > 0 "
            "  THEN greatest(renew_at, least(to_timestamp($2::bigint / 1000.0), overdue_at)) "
            "  ELSE least(to_timestamp($2::bigint / 1000.0), overdue_at) END, "
            "ari_next_fetch_at = now() + $3::bigint * interval '1 ms' "
            "WHERE id = $1 AND superseded_at IS NULL "
            "RETURNING (extract(epoch FROM renew_at) * 1000)::bigint AS renew_at_ms, "
            "renew_at <= now() AS due",
            {certificateId, renewAt, nextFetchMs});
        if (!rows.empty() && !rows.isNull(0, "renew_at_ms"))
            stored = AriRecorded{rows.integer(0, "renew_at_ms"), rows.boolean(0, "due")};
        return true;
    });
    return stored;
}

namespace {

constexpr const char* kCurrentCertificateSql =
    "SELECT d.id AS domain_id, d.domain_name, d.status, c.id, c.certificate_pem, "
    "(SELECT a.directory_url FROM acme_orders o JOIN acme_accounts a ON a.id = o.account_id "
    "  WHERE o.id = c.order_id) AS directory_url FROM domains d "
    "JOIN certificates c ON c.domain_id = d.id AND c.superseded_at IS NULL ";

CurrentCertificate currentCertificateAt(const SqlRows& rows, int row) {
    return CurrentCertificate{rows.text(row, "domain_id"), rows.text(row, "domain_name"),
                              rows.text(row, "status"),
                              AriDue{rows.text(row, "id"), rows.text(row, "certificate_pem"),
                                     rows.optionalText(row, "directory_url").value_or("")}};
}

}  // namespace

std::optional<CurrentCertificate> OrderStore::currentCertificate(const std::string& domainId) {
    const SqlRows rows =
        runSql(session_, std::string(kCurrentCertificateSql) + "WHERE d.id = $1", {domainId});
    if (rows.empty()) return std::nullopt;
    return currentCertificateAt(rows, 0);
}

std::vector<CurrentCertificate> OrderStore::currentCertificates(const std::string& directoryUrl,
                                                                const std::string& afterDomainId,
                                                                int limit) {
    // Only what this CA issued: another CA (before ACME_DIRECTORY changed) does not know the
    // CertID (RFC 9773 §4.1 names the issuer's key).
    const SqlRows rows = runSql(
        session_,
        std::string(kCurrentCertificateSql) +
            "JOIN acme_orders o ON o.id = c.order_id "
            "JOIN acme_accounts a ON a.id = o.account_id AND a.directory_url = $1 "
            "WHERE d.status = 'active' AND d.id > $2 ORDER BY d.id LIMIT $3",
        {directoryUrl, afterDomainId, limit});
    std::vector<CurrentCertificate> page;
    for (int row = 0; row < rows.size(); ++row) page.push_back(currentCertificateAt(rows, row));
    return page;
}

}  // namespace dnsh
