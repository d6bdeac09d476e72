#include "edge/edge_source.hpp"

#include <poll.h>

#include <stdexcept>

#include "core/error.hpp"
#include "db/commit_wait.hpp"
#include "db/database.hpp"
#include "db/server_notices.hpp"
#include "db/sql.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr const char* kChannel = "dnsh_edge";

// The newest certificate of each domain: certificates_current_idx (one row per domain).
constexpr const char* kCertificateColumns =
    "SELECT d.domain_name, c.id, c.certificate_pem, c.chain_pem, c.private_key_ciphertext,"
    " (extract(epoch FROM c.created_at) * 1000000)::bigint AS created"
    " FROM certificates c JOIN domains d ON d.id = c.domain_id"
    " WHERE c.superseded_at IS NULL";

}  // namespace

struct EdgeSource::Result {
    std::unique_ptr<PGresult, decltype(&PQclear)> rows{nullptr, &PQclear};
    int size() const { return PQntuples(rows.get()); }
    std::string text(int row, int column) const {
        return PQgetisnull(rows.get(), row, column) ? "" : PQgetvalue(rows.get(), row, column);
    }
};

EdgeSource::EdgeSource(std::string databaseUrl, DatabaseLimits limits, bool listen)
    : databaseUrl_(std::move(databaseUrl)), limits_(limits), listen_(listen) {}

EdgeSource::~EdgeSource() {
    drop();
}

void EdgeSource::drop() {
    if (connection_) PQfinish(connection_);
    connection_ = nullptr;
}

PGconn* EdgeSource::connection() {
    if (connection_ && PQstatus(connection_) == CONNECTION_OK) return connection_;
    drop();
    // Parsed here, not by PQconnectdb: libpq's parse error would quote a password. With the
    // keepalives and the connect timeout of every other connection (README "PostgreSQL
    // failover"): a vanished primary ends a wait in about a minute, not the kernel's hours.
    std::string connectionString;
    try {
        connectionString = libpqConnectionString(databaseUrl_, limits_);
    } catch (const std::invalid_argument& e) {
        logEvent(LogLevel::Error, "DATABASE_URL does not parse", {{"detail", e.what()}});
        throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
    }
    connection_ = PQconnectdb(connectionString.c_str());
    if (PQstatus(connection_) != CONNECTION_OK) {
        // Host names and socket paths quoted as the handlers' and the scheduler's are: not
        // shown in a log.
        std::string why = redactConnectionError(PQerrorMessage(connection_));
        while (!why.empty() && why.back() == '\n') why.pop_back();
        drop();
        logEvent(LogLevel::Warn, "database unavailable", {{"detail", why}});
        throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
    }
    logServerNotices(connection_);
    if (listen_) {
        // After a reconnection too: notifications sent meanwhile are lost, the cursor's poll
        // finds those changes.
        Result listening;
        listening.rows.reset(PQexec(connection_, (std::string("LISTEN ") + kChannel).c_str()));
        if (PQresultStatus(listening.rows.get()) != PGRES_COMMAND_OK) {
            const std::string why = PQresultErrorMessage(listening.rows.get());
            drop();
            throw std::runtime_error("LISTEN " + std::string(kChannel) + " failed: " + why);
        }
    }
    return connection_;
}

EdgeSource::Result EdgeSource::run(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params) {
    PGconn* conn = connection();
    std::vector<const char*> values;
    for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
    Result result;
    // Sent and waited for within twice DB_STATEMENT_TIMEOUT: the heartbeat's commit would wait
    // for a synchronous standby away for as long as it is gone (db/commit_wait.hpp), the agent
    // applying nothing and deaf to SIGTERM meanwhile. The heartbeat means nothing to anyone
    // building on it, so its wait is cancelled (made on the primary alone) past the bound.
    if (PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 1) {
        try {
            result.rows.reset(awaitAnswer(conn, limits_.statementTimeout * 2,
                                          "an edge agent statement", UnansweredCommit::Cancelled));
        } catch (const UnconfirmedCommit& e) {
            drop();
            logEvent(LogLevel::Warn, "database connection given up", {{"detail", e.why()}});
            throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
        }
    }
    const ExecStatusType status = PQresultStatus(result.rows.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    std::string why = PQresultErrorMessage(result.rows.get());
    while (!why.empty() && why.back() == '\n') why.pop_back();
    if (PQstatus(conn) != CONNECTION_OK) {
        drop();
        logEvent(LogLevel::Warn, "database connection lost", {{"detail", why}});
        throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
    }
    throw std::runtime_error("database error: " + why);
}

long long EdgeSource::now() {
    const Result result = run("SELECT (extract(epoch FROM now()) * 1000000)::bigint", {});
    return std::stoll(result.text(0, 0));
}

std::vector<EdgeCertificate> EdgeSource::certificates(
    const std::string& where, const std::vector<std::optional<std::string>>& params) {
    const Result result = run(std::string(kCertificateColumns) + where, params);
    std::vector<EdgeCertificate> found;
    found.reserve(static_cast<std::size_t>(result.size()));
    for (int row = 0; row < result.size(); ++row)
        found.push_back({result.text(row, 0), result.text(row, 1), result.text(row, 2),
                         result.text(row, 3), result.text(row, 4),
                         std::stoll(result.text(row, 5))});
    return found;
}

// domains' unique index on domain_name walked in order, each probing certificates_current_idx:
// a page costs its own rows, wherever it starts.
std::vector<EdgeCertificate> EdgeSource::certificatesAfter(const std::string& afterName,
                                                           int limit) {
    return certificates(" AND d.domain_name > $1 ORDER BY d.domain_name LIMIT $2::integer",
                        {afterName, std::to_string(limit)});
}

std::vector<std::string> EdgeSource::certificateNamesAfter(const std::string& afterName,
                                                           int limit) {
    const Result result = run(
        "SELECT d.domain_name FROM certificates c JOIN domains d ON d.id = c.domain_id"
        " WHERE c.superseded_at IS NULL AND d.domain_name > $1"
        " ORDER BY d.domain_name LIMIT $2::integer",
        {afterName, std::to_string(limit)});
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(result.size()));
    for (int row = 0; row < result.size(); ++row) names.push_back(result.text(row, 0));
    return names;
}

std::vector<EdgeCertificate> EdgeSource::certificatesOf(const std::set<std::string>& domainNames) {
    if (domainNames.empty()) return {};
    return certificates(" AND d.domain_name = ANY($1::text[])", {textArrayLiteral(domainNames)});
}

std::vector<std::string> EdgeSource::certificateNamesOf(
    const std::set<std::string>& domainNames) {
    if (domainNames.empty()) return {};
    const Result result = run(
        "SELECT d.domain_name FROM certificates c JOIN domains d ON d.id = c.domain_id"
        " WHERE c.superseded_at IS NULL AND d.domain_name = ANY($1::text[])",
        {textArrayLiteral(domainNames)});
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(result.size()));
    for (int row = 0; row < result.size(); ++row) names.push_back(result.text(row, 0));
    return names;
}

EdgeChanges EdgeSource::changesSince(long long cursorMicros) {
    // edge_events_happened_idx: a range scan over the last moments, whatever the table holds.
    const Result result = run(
        "SELECT domain_name, (extract(epoch FROM happened_at) * 1000000)::bigint FROM edge_events"
        " WHERE happened_at > to_timestamp($1::bigint / 1000000.0) - interval '30 seconds'",
        {std::to_string(cursorMicros)});
    EdgeChanges changes{{}, cursorMicros};
    for (int row = 0; row < result.size(); ++row) {
        const long long at = std::stoll(result.text(row, 1));
        // Rows inside the overlap that an earlier poll already returned come back: applying a
        // name twice changes nothing.
        changes.domainNames.insert(result.text(row, 0));
        if (at > changes.cursorMicros) changes.cursorMicros = at;
    }
    return changes;
}

void EdgeSource::heartbeat(const EdgeHeartbeat& beat) {
    std::optional<std::string> through;
    if (beat.appliedThroughMicros) through = std::to_string(*beat.appliedThroughMicros);
    std::optional<std::string> certificate;
    if (!beat.appliedCertificateId.empty()) certificate = beat.appliedCertificateId;
    run("INSERT INTO edge_agents AS a (agent, certificates, failing, applied_through,"
        " applied_certificate_id, heartbeat_at)"
        " VALUES ($1, $2::integer, $3::integer, to_timestamp($4::bigint / 1000000.0), $5, now())"
        " ON CONFLICT (agent) DO UPDATE SET certificates = EXCLUDED.certificates,"
        " failing = EXCLUDED.failing,"
        " applied_through = coalesce(EXCLUDED.applied_through, a.applied_through),"
        " applied_certificate_id = coalesce(EXCLUDED.applied_certificate_id,"
        " a.applied_certificate_id), heartbeat_at = now()",
        {beat.agent, std::to_string(beat.certificates), std::to_string(beat.failing), through,
         certificate});
}

std::set<std::string> EdgeSource::waitForNotifications(std::chrono::milliseconds timeout) {
    std::set<std::string> names;
    if (!listen_) {
        ::poll(nullptr, 0, static_cast<int>(timeout.count()));
        return names;
    }
    PGconn* conn = connection();
    auto collect = [&] {
        while (PGnotify* notify = PQnotifies(conn)) {
            names.insert(notify->extra);
            PQfreemem(notify);
        }
    };
    collect();
    if (!names.empty()) return names;
    pollfd readable{PQsocket(conn), POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(timeout.count()));
    if (ready > 0) {
        if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
            drop();
            throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
        }
        collect();
    }
    return names;
}

}  // namespace dnsh
