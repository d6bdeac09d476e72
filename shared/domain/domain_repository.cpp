#include "domain/domain_repository.hpp"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "core/error.hpp"
#include "db/sql_time.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {}  // namespace

bool DomainRepository::insert(const std::string& id, const std::string& domainName,
                              const std::string& token) {
    Poco::Data::Statement statement(session_);
    statement << "INSERT INTO domains (id, domain_name, verification_token) VALUES ($1, $2, $3) "
                 "ON CONFLICT (domain_name) DO NOTHING",
        bind(id), bind(domainName), bind(token);
    return statement.execute() == 1;
}

std::optional<Domain> DomainRepository::findById(const std::string& id) {
    Poco::Data::Statement select(session_);
    // One round of LATERAL joins: the newest certificate, the live order, and the renewal order
    // that last tried to replace the newest certificate.
    select << "SELECT d.id, d.domain_name, d.verification_token, d.status, d.error, d.error_code, "
              DNSH_RFC3339("d.verified_at") " AS verified_at, " DNSH_RFC3339("d.created_at")
              " AS created_at, " DNSH_RFC3339("d.updated_at") " AS updated_at, d.last_check, d.delegation_status, "
              "c.id AS cert_id, " DNSH_RFC3339("c.issued_at") " AS cert_issued_at, "
              DNSH_RFC3339("c.expires_at") " AS cert_expires_at, " DNSH_RFC3339("c.created_at")
              " AS cert_created_at, " DNSH_RFC3339("c.renew_at") " AS cert_renew_at, "
              "o.id AS live_id, o.kind AS live_kind, o.step AS live_step, "
              "coalesce(o.delegated, false) AS live_delegated, "
              "r.error AS renewal_error, r.error_code AS renewal_error_code "
              "FROM domains d "
              "LEFT JOIN LATERAL (SELECT * FROM certificates WHERE domain_id = d.id "
              "  ORDER BY created_at DESC, id DESC LIMIT 1) c ON true "
              "LEFT JOIN LATERAL (SELECT * FROM acme_orders WHERE domain_id = d.id "
              "  AND status IN ('pending', 'ready', 'processing') LIMIT 1) o ON true "
              "LEFT JOIN LATERAL (SELECT * FROM acme_orders WHERE replaces_certificate_id = c.id "
              "  AND status = 'invalid' ORDER BY created_at DESC LIMIT 1) r ON true "
              "WHERE d.id = $1",
        bind(id), now;
    Poco::Data::RecordSet rows(select);
    if (rows.rowCount() == 0) return std::nullopt;
    auto text = [&](const char* column) { return rows[column].convert<std::string>(); };
    auto optionalText = [&](const char* column) -> std::optional<std::string> {
        if (rows.isNull(column)) return std::nullopt;
        return rows[column].convert<std::string>();
    };
    Domain domain;
    domain.id = text("id");
    domain.domainName = text("domain_name");
    domain.verificationToken = text("verification_token");
    const auto status = parseDomainStatus(text("status"));
    if (!status) throw Error(ErrorCode::Internal, "unknown status in database: " + text("status"));
    domain.status = *status;
    domain.error = optionalText("error");
    domain.errorCode = optionalText("error_code");
    domain.verifiedAt = optionalText("verified_at");
    domain.createdAt = text("created_at");
    domain.updatedAt = text("updated_at");
    domain.lastCheck = optionalText("last_check");
    domain.delegationStatus = text("delegation_status");
    if (const auto certId = optionalText("cert_id"))
        domain.certificate = CertificateInfo{*certId, domain.id, text("cert_issued_at"),
                                             text("cert_expires_at"), text("cert_created_at")};

    const auto liveOrder = optionalText("live_id");
    const auto liveStep = optionalText("live_step").value_or("");
    std::vector<PendingChallenge> challenges;
    // What the customer must publish: only while the order waits for DNS or the CA validates.
    if (liveOrder && (liveStep == "await_dns" || liveStep == "await_authz")) {
        std::vector<Poco::Tuple<std::string, std::string>> values;
        session_ << "SELECT txt_name, txt_value FROM acme_challenges WHERE order_id = $1 "
                    "ORDER BY id",
            bind(*liveOrder), into(values), now;
        for (const auto& value : values)
            challenges.push_back(PendingChallenge{value.get<0>(), value.get<1>()});
    }
    if (domain.status == DomainStatus::CertificatePending) domain.challenges = challenges;
    if (domain.status == DomainStatus::Active) {
        RenewalState renewal;
        renewal.renewAt = optionalText("cert_renew_at");
        if (liveOrder && optionalText("live_kind") == std::string("renewal")) {
            // A delegated renewal waits for nobody: the service publishes the values itself.
            const bool waitsForCustomer = liveStep == "await_dns" && !challenges.empty() &&
                                          !rows["live_delegated"].convert<bool>();
            renewal.status = waitsForCustomer ? "awaiting_dns" : "in_progress";
            if (waitsForCustomer) renewal.challenges = challenges;
        } else if (const auto error = optionalText("renewal_error")) {
            // The current certificate stays; renew_at is the next try (none once it expired).
            // A delegated domain whose CNAME is gone places no order until it is back.
            const auto code = optionalText("renewal_error_code");
            renewal.status = code == std::string("delegation_lost") ? "delegation_lost" : "failed";
            renewal.error = error;
            renewal.errorCode = optionalText("renewal_error_code");
        } else {
            renewal.status = "scheduled";
        }
        domain.renewal = renewal;
    }
    return domain;
}

std::vector<DomainRepository::ListedId> DomainRepository::listIds(
    const std::string& status, int limit, const std::optional<ListedId>& after) {
    std::vector<Poco::Tuple<std::string, Poco::Int64>> rows;
    const Poco::Int64 afterMicros = after ? after->createdAtMicros : 0;
    const std::string afterId = after ? after->id : "";
    const bool paged = after.has_value();
    // Row comparison on (created_at, id) walks the index from the cursor (keyset pagination).
    session_ << "SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint FROM domains "
                "WHERE ($1 = '' OR status = $1) "
                "AND (NOT $2 OR (created_at, id) < "
                "  ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4)) "
                "ORDER BY created_at DESC, id DESC LIMIT $5",
        bind(status), bind(paged), bind(afterMicros), bind(afterId), bind(limit), into(rows), now;
    std::vector<ListedId> ids;
    for (const auto& row : rows) ids.push_back(ListedId{row.get<0>(), row.get<1>()});
    return ids;
}

bool DomainRepository::remove(const std::string& id) {
    Poco::Data::Statement statement(session_);
    statement << "DELETE FROM domains WHERE id = $1", bind(id);
    return statement.execute() == 1;
}

std::vector<std::string> DomainRepository::liveAuthorizationUrls(const std::string& domainId) {
    std::vector<std::string> urls;
    session_ << "SELECT c.authorization_url FROM acme_challenges c JOIN acme_orders o "
                "ON o.id = c.order_id WHERE o.domain_id = $1 "
                "AND o.status IN ('pending', 'ready', 'processing') AND o.order_url IS NOT NULL",
        bind(domainId), into(urls), now;
    return urls;
}

void DomainRepository::setDelegationStatus(const std::string& id, const std::string& status) {
    session_ << "UPDATE domains SET delegation_status = $2, "
                "updated_at = CASE WHEN delegation_status = $2 THEN updated_at ELSE now() END "
                "WHERE id = $1",
        bind(id), bind(status), now;
}

bool DomainRepository::makeDnsCheckDue(const std::string& id) {
    Poco::Data::Statement update(session_);
    update << "UPDATE acme_orders SET next_attempt_at = now() WHERE domain_id = $1 "
              "AND status IN ('pending', 'ready', 'processing') AND step = 'await_dns'",
        bind(id);
    return update.execute() > 0;
}

void DomainRepository::recordCheck(const std::string& id, const std::string& checkJson) {
    session_ << "UPDATE domains SET last_check = $2 WHERE id = $1", bind(id), bind(checkJson), now;
}

std::optional<CertificateInfo> DomainRepository::newestCertificate(const std::string& domainId) {
    using Row = Poco::Tuple<std::string, std::string, std::string, std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT id, domain_id, " DNSH_RFC3339("issued_at") ", " DNSH_RFC3339(
                    "expires_at") ", " DNSH_RFC3339("created_at") " FROM certificates "
                                                                  "WHERE domain_id = $1 "
                                                                  "ORDER BY created_at DESC, "
                                                                  "id DESC LIMIT 1",
        bind(domainId), into(rows), now;
    if (rows.empty()) return std::nullopt;
    const Row& row = rows.front();
    return CertificateInfo{row.get<0>(), row.get<1>(), row.get<2>(), row.get<3>(), row.get<4>()};
}

std::string DomainRepository::certificatePem(const std::string& certificateId) {
    std::vector<std::string> pems;
    session_ << "SELECT certificate_pem FROM certificates WHERE id = $1", bind(certificateId),
        into(pems), now;
    return pems.empty() ? "" : pems.front();
}

}  // namespace dnsh
