#include "domain/registration.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/failure_code.hpp"
#include "crypto/random.hpp"
#include "db/sql.hpp"
#include "db/sql_time.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"
#include "log/log.hpp"

namespace dnsh {

const char* const kInsertDomainSql =
    "INSERT INTO domains (id, domain_name, verification_token, profile, delegation_label, "
    "idempotency_key) VALUES ($1, $2, $3, nullif($4, ''), $5, nullif($6, '')) "
    "RETURNING status, delegation_status, " DNSH_RFC3339("created_at") " AS created_at, "
    DNSH_RFC3339("updated_at") " AS updated_at";

namespace {

constexpr std::size_t kIdBytes = 16;
constexpr std::size_t kTokenBytes = 32;

// The unique indexes a second row runs into: the name's (001_init.sql) and the key's, which
// holds only the rows that have one (030_idempotency_keys.sql).
constexpr std::string_view kNameIndex = "domains_domain_name_key";
constexpr std::string_view kKeyIndex = "domains_idempotency_key_idx";

// Inserts `domain` (id, name, token, profile and delegation label set) with `key` and fills in
// what the row's defaults gave it. RETURNING gives the new row's view (nothing else exists for
// it yet): no read-back. False when a unique index refused the row (its name, or its key, is
// another row's): no exception. A plain INSERT, not ON CONFLICT DO NOTHING: the unique indexes
// refuse a second row all the same, and the speculative insertion ON CONFLICT sets up cost every
// POST ~20 us of PostgreSQL's CPU (README "Benchmark") to spare the rare duplicate an error.
bool insertDomain(Poco::Data::Session& session, Domain& domain,
                  const std::optional<std::string>& key) {
    std::optional<SqlRows> inserted;
    try {
        inserted.emplace(runSql(session, kInsertDomainSql,
                                {domain.id, domain.domainName, domain.verificationToken,
                                 domain.profile.value_or(""), domain.delegationLabel.value_or(""),
                                 key.value_or("")}));
    } catch (const SqlError& e) {
        // 23505 unique_violation (PostgreSQL Appendix A), named by the index refusing the row.
        // The statement alone failed (no transaction is open here), the session stays usable.
        const bool taken = e.constraint() == kNameIndex || e.constraint() == kKeyIndex;
        if (e.sqlState() == "23505" && taken) return false;
        throw;
    }
    const SqlRows& rows = *inserted;
    domain.status = parseDomainStatus(rows.text(0, "status")).value_or(DomainStatus::Pending);
    domain.createdAt = rows.text(0, "created_at");
    domain.updatedAt = rows.text(0, "updated_at");
    domain.delegationStatus = rows.text(0, "delegation_status");
    return true;
}

// A row as POST /domains answers it (registrationJson), and the key it was registered with.
struct Holder {
    Domain domain;
    std::optional<std::string> key;
};

// After a refused insert with a key, the one more statement: the rows holding the name or the
// key, each found through its unique index (at most two rows). None when the row that refused
// the insert has been deleted since.
std::vector<Holder> rowsHolding(Poco::Data::Session& session, const std::string& name,
                                const std::string& key) {
    static const std::string sql =
        "SELECT id, domain_name, verification_token, status, profile, delegation_label, "
        "delegation_status, idempotency_key, " DNSH_RFC3339("created_at") " AS created_at, "
        DNSH_RFC3339("updated_at") " AS updated_at "
        "FROM domains WHERE domain_name = $1 OR idempotency_key = $2";
    const SqlRows rows = runSql(session, sql, {name, key});
    std::vector<Holder> holders;
    for (int row = 0; row < rows.size(); ++row) {
        Holder holder;
        Domain& domain = holder.domain;
        domain.id = rows.text(row, "id");
        domain.domainName = rows.text(row, "domain_name");
        domain.verificationToken = rows.text(row, "verification_token");
        const auto status = parseDomainStatus(rows.text(row, "status"));
        if (!status) throw Error(ErrorCode::Internal, "unknown status in database");
        domain.status = *status;
        domain.profile = rows.optionalText(row, "profile");
        domain.delegationLabel = rows.optionalText(row, "delegation_label");
        domain.delegationStatus = rows.text(row, "delegation_status");
        domain.createdAt = rows.text(row, "created_at");
        domain.updatedAt = rows.text(row, "updated_at");
        holder.key = rows.optionalText(row, "idempotency_key");
        holders.push_back(std::move(holder));
    }
    return holders;
}

// What a log line shows of a key: its first 8 characters, enough to match a retry with the first
// request; not the key, which with the name would fetch the domain's token again. (Keys are at
// most 255 printable ASCII characters, http/idempotency_key.hpp: bounded either way.)
std::string keyHint(const std::string& key) {
    constexpr std::size_t kShown = 8;
    return key.size() <= kShown ? key : key.substr(0, kShown) + "...";
}

}  // namespace

Domain registerDomain(Database& database, std::string_view requestedName,
                      const std::optional<std::string>& profile,
                      const std::optional<std::string>& idempotencyKey) {
    Domain domain;
    domain.domainName = normalizeDomainName(requestedName);
    domain.id = randomHex(kIdBytes);
    domain.verificationToken = randomHex(kTokenBytes);
    domain.profile = profile;
    domain.delegationLabel = delegationLabel(domain.verificationToken, domain.domainName);
    // One statement for a new name (README "Database access"); one more only when the insert
    // was refused and the request has a key.
    std::vector<Holder> holders;
    const bool inserted = database.withSession([&](Poco::Data::Session& session) {
        if (insertDomain(session, domain, idempotencyKey)) return true;
        if (idempotencyKey) holders = rowsHolding(session, domain.domainName, *idempotencyKey);
        return false;
    });
    LogFields fields{{"domain_name", domain.domainName}, {"profile", profile.value_or("")}};
    if (idempotencyKey) fields.emplace_back("idempotency_key", keyHint(*idempotencyKey));
    if (inserted) {
        fields.emplace(fields.begin(), "domain_id", domain.id);
        logEvent(LogLevel::Info, "domain registered", fields);
        return domain;
    }
    for (Holder& holder : holders) {
        if (holder.key != idempotencyKey) continue;
        // draft-ietf-httpapi-idempotency-key-header-06 §2.4: the request's fingerprint is what
        // it asks for, compared field by field: the normalised name and the profile.
        if (holder.domain.domainName != domain.domainName || holder.domain.profile != profile)
            throw Error(ErrorCode::UnprocessableContent,
                        "this Idempotency-Key was used with another request (another domain_name "
                        "or profile); a new request needs a new key",
                        std::string(toString(FailureCode::IdempotencyKeyReused)));
        // §2.6, a retry after the original request completed: its result again. That answer said
        // "pending", as every registration does; where the domain is now, GET /domains/{id}
        // tells (a 201 saying "verified" would be neither answer).
        holder.domain.status = DomainStatus::Pending;
        fields.emplace(fields.begin(), "domain_id", holder.domain.id);
        logEvent(LogLevel::Info, "domain registration replayed", fields);
        return std::move(holder.domain);
    }
    throw Error(ErrorCode::Conflict,
                "domain " + domain.domainName + " is already registered" +
                    (idempotencyKey ? " (by a request with another Idempotency-Key, or none)"
                                    : ""),
                std::string(toString(FailureCode::AlreadyRegistered)));
}

}  // namespace dnsh
