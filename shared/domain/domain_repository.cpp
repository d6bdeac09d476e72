#include "domain/domain_repository.hpp"

#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/failure_code.hpp"
#include "db/sql.hpp"
#include "domain/check_times.hpp"

namespace dnsh {

namespace {

// The domain view in one statement: the domain's row and its row of domain_views (the current
// certificate, the live order with the values it waits for, the renewal order that last failed
// to replace the certificate), kept by triggers (migration 010): two primary-key reads. `rows` is
// a derived table of domain ids (and what orders them) that the caller supplies.
std::string domainViewSql(const std::string& rows, const std::string& orderBy) {
    // Timestamps stay timestamptz: the statement runs with binary results and they are
    // formatted in C++ (SqlRows::rfc3339), cheaper than seven to_char() calls per view.
    return "SELECT d.id, d.domain_name, d.verification_token, d.status, d.error, d.error_code, "
           "d.verified_at, d.created_at, d.updated_at, d.last_check, d.caa_check, "
           "d.persist_check, d.validation_method, "
           "d.delegation_status, d.profile, d.delegation_label, "
           "v.cert_id, v.cert_issued_at, v.cert_expires_at, v.cert_created_at, v.cert_renew_at, "
           "v.cert_profile, v.cert_ca, "
           "v.live_id, v.live_kind, v.live_step, coalesce(v.live_delegated, false) AS "
           "live_delegated, v.live_challenges, v.renewal_error, v.renewal_error_code, "
           "coalesce(v.cert_expires_at <= now(), false) AS cert_expired "
           "FROM (" +
           rows +
           ") page JOIN domains d ON d.id = page.id "
           "LEFT JOIN domain_views v ON v.domain_id = d.id " +
           orderBy;
}

std::vector<PendingChallenge> parseChallenges(const std::optional<std::string>& json) {
    std::vector<PendingChallenge> challenges;
    if (!json) return challenges;
    const auto pairs = Poco::JSON::Parser().parse(*json).extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < pairs->size(); ++i) {
        const auto pair = pairs->getArray(static_cast<unsigned>(i));
        challenges.push_back(
            PendingChallenge{pair->getElement<std::string>(0), pair->getElement<std::string>(1)});
    }
    return challenges;
}

Domain domainFromRow(const SqlRows& rows, int row) {
    auto text = [&](const char* column) { return rows.text(row, column); };
    auto optionalText = [&](const char* column) { return rows.optionalText(row, column); };
    Domain domain;
    domain.id = text("id");
    domain.domainName = text("domain_name");
    domain.verificationToken = text("verification_token");
    const auto status = parseDomainStatus(text("status"));
    if (!status) throw Error(ErrorCode::Internal, "unknown status in database: " + text("status"));
    domain.status = *status;
    domain.error = optionalText("error");
    domain.errorCode = optionalText("error_code");
    auto timestamp = [&](const char* column) { return rows.rfc3339(row, column); };
    domain.verifiedAt = timestamp("verified_at");
    domain.createdAt = timestamp("created_at").value_or("");
    domain.updatedAt = timestamp("updated_at").value_or("");
    domain.lastCheck = optionalText("last_check");
    domain.caaCheck = optionalText("caa_check");
    domain.persistCheck = optionalText("persist_check");
    if (const auto method = optionalText("validation_method"))
        domain.validationMethod = parseValidationMethod(*method);
    domain.delegationStatus = text("delegation_status");
    domain.profile = optionalText("profile");
    domain.delegationLabel = optionalText("delegation_label");
    if (const auto certId = optionalText("cert_id"))
        domain.certificate = CertificateInfo{
            *certId, domain.id, timestamp("cert_issued_at").value_or(""),
            timestamp("cert_expires_at").value_or(""), timestamp("cert_created_at").value_or(""),
            optionalText("cert_profile"), optionalText("cert_ca")};

    const auto liveOrder = optionalText("live_id");
    const auto liveStep = optionalText("live_step").value_or("");
    // What the customer must publish: only while the order waits for DNS or the CA validates.
    const std::vector<PendingChallenge> challenges =
        parseChallenges(optionalText("live_challenges"));
    if (domain.status == DomainStatus::CertificatePending) domain.challenges = challenges;
    if (domain.status == DomainStatus::Active) {
        RenewalState renewal;
        renewal.renewAt = timestamp("cert_renew_at");
        if (liveOrder && optionalText("live_kind") == std::string("renewal")) {
            // A delegated renewal waits for nobody: the service publishes the values itself.
            const bool waitsForCustomer = liveStep == "await_dns" && !challenges.empty() &&
                                          !rows.boolean(row, "live_delegated");
            renewal.status = waitsForCustomer ? "awaiting_dns" : "in_progress";
            if (waitsForCustomer) renewal.challenges = challenges;
        } else if (const auto error = optionalText("renewal_error")) {
            // The current certificate stays; renew_at is the next try, also once it expired
            // (more slowly then). A delegated domain whose CNAME is gone places no order until
            // it is back.
            const auto code = optionalText("renewal_error_code");
            renewal.status = code && parseFailureCode(*code) == FailureCode::DelegationLost
                                 ? "delegation_lost"
                             : rows.boolean(row, "cert_expired") ? "expired"
                                                                 : "failed";
            renewal.error = error;
            renewal.errorCode = optionalText("renewal_error_code");
        } else {
            renewal.status = "scheduled";
        }
        domain.renewal = renewal;
    }
    return domain;
}

}  // namespace

std::optional<Domain> DomainRepository::findById(const std::string& id) {
    // The same text for every call: built once per process, not at every GET.
    static const std::string sql = domainViewSql("SELECT $1::text AS id", "");
    const SqlRows rows = runSql(session_, sql, {id}, SqlResults::Binary);
    if (rows.empty()) return std::nullopt;
    return domainFromRow(rows, 0);
}

std::optional<Domain> DomainRepository::findByName(const std::string& domainName) {
    // One read of the unique index on the name.
    static const std::string sql =
        domainViewSql("SELECT id FROM domains WHERE domain_name = $1", "");
    const SqlRows rows = runSql(session_, sql, {domainName}, SqlResults::Binary);
    if (rows.empty()) return std::nullopt;
    return domainFromRow(rows, 0);
}

std::vector<DomainRepository::Listed> DomainRepository::listPage(
    const std::string& status, int limit, const std::optional<PageCursor>& after) {
    // Keyset pagination: a row comparison on (created_at, id) walks domains_newest_idx (or
    // domains_status_newest_idx) from the cursor, and the page's views come in the same
    // statement. There is one statement text per kind of page (all or one status, first or
    // later), with no condition that a parameter turns on or off: so every plan of it, the
    // generic one the plan cache may switch to from the sixth execution included, has the status
    // and the cursor as index conditions (tests/integration/list_plan_test.cpp), and a named
    // statement saves the parsing and planning of every page (about 40% of PostgreSQL's CPU for a
    // page of 100, README "Benchmark"). The page's size is part of the text, not a parameter: a
    // generic plan takes an unknown LIMIT for a tenth of the table and joins it by hashing a
    // sequential scan of domains. Pages of the usual size (listDomains' default) are prepared;
    // any other size is planned with each execution, so that a connection keeps a few statements,
    // not one per size a client asked for.
    std::vector<SqlValue> params;
    std::string pageRows = "SELECT id, created_at FROM domains ";
    if (!status.empty()) {
        params.emplace_back(status);
        pageRows += "WHERE status = $1 ";
    }
    if (after) {
        params.emplace_back(after->createdAtMicros);
        params.emplace_back(after->id);
        const std::size_t micros = params.size() - 1;
        pageRows += status.empty() ? "WHERE " : "AND ";
        pageRows += "(created_at, id) < ('epoch'::timestamptz + $" + std::to_string(micros) +
                    "::bigint * interval '1 microsecond', $" + std::to_string(micros + 1) + ") ";
    }
    pageRows += "ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(limit);
    const SqlRows rows = runSql(
        session_, domainViewSql(pageRows, "ORDER BY page.created_at DESC, page.id DESC"), params,
        SqlResults::Binary,
        limit == kUsualPageRows ? SqlPlanning::Cached : SqlPlanning::EachExecution);
    std::vector<Listed> page;
    page.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row)
        page.push_back(
            Listed{domainFromRow(rows, row),
                   PageCursor{rows.text(row, "id"), rows.unixMicros(row, "created_at")}});
    return page;
}

bool DomainRepository::remove(const std::string& id) {
    return runSql(session_, "DELETE FROM domains WHERE id = $1", {id}).affected() == 1;
}

std::vector<AuthorizationsAtCa> DomainRepository::authorizationsToRelease(
    const std::string& domainId) {
    // Failed and replaced orders too: since a failure gives back only the pending ones, such an
    // order may hold a valid one, and the domain's later orders rely on it without listing it
    // (the CA reuses it, RFC 8555 §7.1.4); a replaced order (expired past finalize) holds only
    // valid ones. Of those, the newest row per name and CA: a retry failing again and again
    // stores only its new pending rows, and the valid one stays with the first failure.
    const SqlRows rows = runSql(
        session_,
        "WITH held AS (SELECT c.authorization_url, coalesce(c.identifier, '') AS identifier, "
        "  a.directory_url, o.status IN ('invalid', 'replaced') AS settled, o.created_at, c.id "
        "  FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "  JOIN acme_accounts a ON a.id = o.account_id WHERE o.domain_id = $1 "
        "  AND o.status IN ('pending', 'ready', 'processing', 'invalid', 'replaced') "
        "  AND o.order_url IS NOT NULL), "
        "newest_settled AS (SELECT DISTINCT ON (identifier, directory_url) * FROM held "
        "  WHERE settled ORDER BY identifier, directory_url, created_at DESC, id) "
        "SELECT authorization_url, identifier, directory_url FROM ("
        "  (SELECT *, 0 AS tier FROM held WHERE NOT settled) UNION ALL "
        "  (SELECT *, 1 AS tier FROM newest_settled "
        "   ORDER BY created_at DESC, id LIMIT $2::bigint)) AS released "
        "ORDER BY tier, created_at DESC, id",
        {domainId, static_cast<Poco::Int64>(kFailedOrderAuthorizations)});
    std::vector<AuthorizationsAtCa> byCa;
    std::set<std::string> seen;  // an authorization two orders listed (reused while pending)
    for (int row = 0; row < rows.size(); ++row) {
        const std::string url = rows.text(row, "authorization_url");
        if (!seen.insert(url).second) continue;
        const std::string directory = rows.text(row, "directory_url");
        auto atCa = std::find_if(byCa.begin(), byCa.end(), [&](const AuthorizationsAtCa& group) {
            return group.caDirectory == directory;
        });
        if (atCa == byCa.end()) atCa = byCa.insert(byCa.end(), AuthorizationsAtCa{directory, {}});
        atCa->authorizations.push_back(HeldAuthorization{url, rows.text(row, "identifier")});
    }
    return byCa;
}

std::set<std::string> DomainRepository::identifiersNeededElsewhere(
    const std::string& domainId, const std::set<std::string>& identifiers) {
    if (identifiers.empty()) return {};
    // Only verified domains count: a registration nobody proved control of gives no claim to
    // the name.
    const SqlRows rows = runSql(
        session_,
        "SELECT i.name FROM unnest($2::text[]) AS i(name) "
        "WHERE EXISTS (SELECT 1 FROM domains d WHERE d.id <> $1 AND d.status <> 'pending' "
        "AND d.domain_name IN (i.name, '*.' || i.name))",
        {domainId, textArrayLiteral(identifiers)});
    std::set<std::string> needed;
    for (int row = 0; row < rows.size(); ++row) needed.insert(rows.text(row, "name"));
    return needed;
}

void DomainRepository::setDelegationStatus(const std::string& id, const std::string& status) {
    // $2::text: the column is a domain type (migration 021) and $2 is also compared with it.
    runSql(session_,
           "UPDATE domains SET delegation_status = $2::text, "
           "updated_at = CASE WHEN delegation_status = $2 THEN updated_at ELSE now() END "
           "WHERE id = $1",
           {id, status});
}

DomainRepository::DnsCheckRequest DomainRepository::requestDnsCheck(const std::string& id,
                                                                   Poco::Int64 pollIntervalMs) {
    // One statement: the live order waiting for DNS, locked; moved to now only when its next
    // attempt is a DNS poll and no check was brought forward within POLL_INTERVAL. While a
    // worker holds it (its lookup may predate the publish) the request is only remembered:
    // OrderStore::release makes the order due at once when dns_check_requested_at is later
    // than claimed_at. clock_timestamp(): taken once the row is ours, so after a racing claim.
    const SqlRows rows = runSql(
        session_,
        "WITH live AS (SELECT id, dns_poll, next_attempt_at, dns_check_requested_at, "
        "  coalesce(lease_expires_at > now(), false) AS leased, "
        "  coalesce(lease_expires_at > now() AND dns_check_requested_at > claimed_at, false) "
        "    AS remembered "
        "  FROM acme_orders WHERE domain_id = $1 AND status IN ('pending', 'ready', "
        "  'processing') AND step = 'await_dns' FOR UPDATE), "
        "moved AS (UPDATE acme_orders o SET next_attempt_at = CASE WHEN live.leased "
        "  THEN o.next_attempt_at ELSE now() END, dns_check_requested_at = clock_timestamp() "
        "  FROM live WHERE o.id = live.id "
        "  AND (live.leased OR (live.dns_poll AND live.next_attempt_at > now())) "
        "  AND (live.dns_check_requested_at IS NULL "
        "  OR live.dns_check_requested_at <= now() - $2::bigint * interval '1 ms') "
        "  RETURNING o.id) "
        "SELECT live.dns_poll, live.leased, live.remembered, "
        "EXISTS (SELECT 1 FROM moved) AS moved, "
        "coalesce(live.next_attempt_at <= now(), true) AS due, "
        "coalesce(ceil(extract(epoch FROM live.next_attempt_at - now()) * 1000), 0)::bigint "
        "  AS next_in_ms, "
        "coalesce(ceil(extract(epoch FROM live.dns_check_requested_at + $2::bigint * "
        "  interval '1 ms' - now()) * 1000), 0)::bigint AS check_in_ms "
        "FROM live",
        {id, pollIntervalMs});
    using Outcome = DnsCheckRequest::Outcome;
    if (rows.empty()) return {Outcome::NothingWaiting, 0};
    if (rows.boolean(0, "moved") || rows.boolean(0, "remembered")) return {Outcome::Due, 0};
    const Poco::Int64 checkInMs = rows.integer(0, "check_in_ms");
    // Held by a worker, and a check was brought forward within POLL_INTERVAL (maybe the lookup
    // running now): no second one.
    if (rows.boolean(0, "leased")) return {Outcome::TooSoon, checkInMs};
    if (rows.boolean(0, "due")) return {Outcome::Due, 0};
    const Poco::Int64 nextInMs = rows.integer(0, "next_in_ms");
    if (!rows.boolean(0, "dns_poll")) return {Outcome::Backoff, nextInMs};
    // The regular poll may come first.
    return {Outcome::TooSoon, std::min<Poco::Int64>(nextInMs, checkInMs)};
}

std::optional<std::string> DomainRepository::recordPendingCheck(const std::string& id,
                                                                const std::string& checkJson) {
    static const std::string sql = "UPDATE domains SET last_check = " + checkWithTimesSql("$2") +
                                   " WHERE id = $1 AND status = 'pending' RETURNING last_check";
    const SqlRows rows = runSql(session_, sql, {id, checkJson});
    if (rows.empty()) return std::nullopt;
    return rows.text(0, "last_check");
}

std::string DomainRepository::certificatePem(const std::string& certificateId) {
    const SqlRows rows =
        runSql(session_, "SELECT certificate_pem FROM certificates WHERE id = $1", {certificateId});
    return rows.empty() ? "" : rows.text(0, "certificate_pem");
}

}  // namespace dnsh
