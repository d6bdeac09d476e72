#include "domain/domain_repository.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "core/error.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Timestamps leave SQL already formatted as RFC 3339 UTC, so no time zone logic lives in C++.
#define DNSH_RFC3339(column) \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

std::string text(DomainStatus status) {
    return std::string(toString(status));
}

}  // namespace

bool DomainRepository::insert(const std::string& id, const std::string& domainName,
                              const std::string& token) {
    Poco::Data::Statement statement(session_);
    statement << "INSERT INTO domains (id, domain_name, verification_token) VALUES ($1, $2, $3) "
                 "ON CONFLICT (domain_name) DO NOTHING",
        bind(id), bind(domainName), bind(token);
    return statement.execute() == 1;
}

std::optional<Domain> DomainRepository::findById(const std::string& id) {
    using Row = Poco::Tuple<std::string, std::string, std::string, std::string,
                            Poco::Nullable<std::string>, Poco::Nullable<std::string>, std::string,
                            std::string, Poco::Nullable<std::string>, Poco::Nullable<std::string>>;
    std::vector<Row> rows;
    // The newest challenge of the newest live order, shown while certificate_pending.
    session_ << "SELECT d.id, d.domain_name, d.verification_token, d.status, d.error, "
                DNSH_RFC3339("d.verified_at") ", " DNSH_RFC3339("d.created_at") ", "
                DNSH_RFC3339("d.updated_at") ", c.txt_name, c.txt_value "
                "FROM domains d "
                "LEFT JOIN LATERAL (SELECT ch.txt_name, ch.txt_value FROM acme_orders o "
                "  JOIN acme_challenges ch ON ch.order_id = o.id "
                "  WHERE o.domain_id = d.id AND d.status = 'certificate_pending' "
                "  ORDER BY o.created_at DESC, ch.id DESC LIMIT 1) c ON true "
                "WHERE d.id = $1",
        bind(id), into(rows), now;
    if (rows.empty()) return std::nullopt;
    const Row& row = rows.front();
    Domain domain;
    domain.id = row.get<0>();
    domain.domainName = row.get<1>();
    domain.verificationToken = row.get<2>();
    const auto status = parseDomainStatus(row.get<3>());
    if (!status) throw Error(ErrorCode::Internal, "unknown status in database: " + row.get<3>());
    domain.status = *status;
    if (!row.get<4>().isNull()) domain.error = row.get<4>().value();
    if (!row.get<5>().isNull()) domain.verifiedAt = row.get<5>().value();
    domain.createdAt = row.get<6>();
    domain.updatedAt = row.get<7>();
    if (!row.get<8>().isNull() && !row.get<9>().isNull())
        domain.challenge = PendingChallenge{row.get<8>().value(), row.get<9>().value()};
    return domain;
}

bool DomainRepository::compareAndSetStatus(const std::string& id, DomainStatus from,
                                           DomainStatus to) {
    Poco::Data::Statement statement(session_);
    statement << "UPDATE domains SET status = $3, updated_at = now(), "
                 "verified_at = CASE WHEN $3 = 'verified' THEN now() ELSE verified_at END "
                 "WHERE id = $1 AND status = $2",
        bind(id), bind(text(from)), bind(text(to));
    return statement.execute() == 1;
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

}  // namespace dnsh
