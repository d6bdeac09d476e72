#pragma once
// One PostgreSQL session (Poco Data), opened on first use and re-opened after the server dropped
// it, so a long-lived FastCGI process survives database restarts and pg_terminate_backend().
#include <Poco/Data/DataException.h>
#include <Poco/Data/Session.h>
#include <libpq-fe.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/connection_message.hpp"  // redactConnectionError, for the users of sessions
#include "core/error.hpp"
#include "db/background_connect.hpp"
#include "db/commit_wait.hpp"
#include "db/sql.hpp"

namespace dnsh {

class Database {
public:
    // `limits`: DB_STATEMENT_TIMEOUT and DB_LOCK_TIMEOUT set on every session it opens, TCP
    // keepalives on its connections (Config::databaseLimits; the defaults when not given).
    explicit Database(std::string connectionString, DatabaseLimits limits = {});

    // Runs `work` on the session, once. A connection the server dropped while idle is noticed
    // before the work starts (no round trip) and replaced. A connection lost while the work runs
    // is not retried: a write may have committed without the answer reaching us, and running it
    // again would tell the client its own insert was a conflict. The caller gets
    // Error(DatabaseUnavailable), a 503 the client may retry. Throws the same when the database
    // cannot be reached, or takes no writes (the session is dropped: raiseIfServerState). A
    // statement PostgreSQL cancelled (DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT, a deadlock it broke)
    // rolled its transaction back: Error(DatabaseTimeout), a 503 too; so is a server short of
    // disk or memory (SQLSTATE classes 53 and 58). A commit left unanswered past its bound (a
    // synchronous standby away: db/commit_wait.hpp) is Error(DatabaseUnavailable), the session
    // dropped; this process's writes are then held back (refused at once, a 503 too) until a
    // probe finds commits confirmed again.
    template <typename Work>
    auto withSession(Work&& work) -> std::invoke_result_t<Work&, Poco::Data::Session&> {
        const CommitWaitScope commitWait(limits_.statementTimeout);
        try {
            return work(sessionForWork());
        } catch (const UnconfirmedCommit& e) {
            unavailable(e.why());
        } catch (const SqlError& e) {
            if (!isConnected()) unavailable("connection lost while a request used it");
            raiseIfServerState(e);
            throw;
        } catch (const Poco::Data::DataException&) {
            // Poco's own (BEGIN, COMMIT, its statements) carry no SQLSTATE: its SessionHandle
            // keeps PQerrorMessage's text and frees the result. Only a lost connection is told.
            if (isConnected()) throw;
            unavailable("connection lost while a request used it");
        }
    }

    // GET /readyz: SELECT 1 answered within `within`, else Error(DatabaseUnavailable) and the
    // connection is dropped (a server that stopped answering keeps no request waiting for it).
    // On a connection of its own, kept between calls. When there is none (or the server closed
    // it), one is opened on a thread of its own, as libpq connects (the URL's hosts, a service
    // file, PG* variables, connect_timeout per host), waited for until `within` has passed; one
    // still under way then is a 503 and is waited for again by the next call.
    void ping(std::chrono::milliseconds within);

    const DatabaseLimits& limits() const { return limits_; }

    // The open session; opens one (or a fresh one, when the server closed the old one while it
    // sat idle).
    Poco::Data::Session& session();

private:
    // session(), after a probe whether commits are confirmed again when this process holds its
    // writes back and one is due (db/commit_wait.hpp).
    Poco::Data::Session& sessionForWork();
    [[noreturn]] static void writesRefused();
    bool isConnected();
    bool droppedWhileIdle();
    void connectForReadiness(std::chrono::steady_clock::time_point deadline,
                             std::chrono::milliseconds within);
    void disconnect();
    [[noreturn]] void unavailable(const std::string& detail);
    // The failure is the database's, not the work's: throws Error(DatabaseTimeout) or
    // Error(DatabaseUnavailable), as the SQLSTATE says; returns for any other.
    void raiseIfServerState(const SqlError& error);
    static bool isTimeout(const SqlError& error);
    [[noreturn]] static void timedOut(const SqlError& error);

    std::string connectionString_;
    DatabaseLimits limits_;
    std::optional<Poco::Data::Session> session_;
    PgConnection readiness_{nullptr, &PQfinish};  // ping's
    std::optional<BackgroundConnect> connecting_;  // ping's connect under way, if any
};

// How this process logs a PostgreSQL it cannot reach. Without this call (the handlers, dnsh-admin:
// each failure is a request's or a command's own) every failure is an error line "database
// unavailable" with libpq's reason. After it (dns-scheduler, whose workers keep trying while the
// outage lasts): the outage's first failure is that line, then at most one "database still
// unavailable" a minute (`failures` since the last line), and the first session opened after it
// logs "database reachable again". Call it before any Database is used.
void summarizeDatabaseOutages();

// `error` is Error(DatabaseUnavailable): PostgreSQL could not be reached or the connection was
// lost. Database has logged it already (summarizeDatabaseOutages).
bool databaseUnreachable(const std::exception& error);

// GET /readyz: one round trip, and the connect before it when there is no open connection,
// together within kReadinessDeadline; Error(DatabaseUnavailable) when PostgreSQL does not answer
// in time.
constexpr std::chrono::milliseconds kReadinessDeadline{2'000};
void checkDatabase(Database& database);

// The key=value connection string `keyValue` with libpq's TCP keepalive parameters (and
// tcp_user_timeout, which bounds data the server never acknowledges) from `limits`, unless the
// string sets them itself. They detect a partition while a statement waits for its answer;
// libpq ignores them on unix sockets.
std::string withKeepalives(const std::string& keyValue, const DatabaseLimits& limits);

// What every connection of the programs hands to libpq (Poco's sessions and the raw ones, the
// edge agent's): `databaseUrl` as key=value (toKeyValueConnectionString) with the keepalives of
// `limits` (withKeepalives) and, unless the URL sets one, connect_timeout: PGCONNECT_TIMEOUT's
// whole seconds, 3 when it is unset, 0 or not a number (Poco's connector would otherwise put its
// own 60 s there). The first time, PGCONNECT_TIMEOUT is set to 3 s in this process's environment
// unless it is set (README "PostgreSQL failover"). Throws std::invalid_argument, as
// connectionParameters.
std::string libpqConnectionString(const std::string& databaseUrl, const DatabaseLimits& limits);

// For one transaction of a long operation (rotate-kek): statement and lock timeouts
// of its own, `SET LOCAL` (0: none), back to the session's when the transaction ends.
void setTransactionTimeouts(Poco::Data::Session& session, std::chrono::milliseconds statement,
                            std::chrono::milliseconds lock);

// The parameters a connection string sets (keyword, value), in libpq's order, read by libpq's
// own parser from either form it accepts (URI or key=value). Throws std::invalid_argument with
// libpq's reason, redacted.
std::vector<std::pair<std::string, std::string>> connectionParameters(
    const std::string& databaseUrl);

// libpq accepts URIs and key=value strings; Poco's connector only key=value. Converts either to
// key=value (connectionParameters).
std::string toKeyValueConnectionString(const std::string& databaseUrl);

// Runs an SQL script of several statements (migrations) through libpq directly, since prepared
// statements (what Poco uses) take only one statement each.
void executeScript(Poco::Data::Session& session, const std::string& sql);

// ROLLBACK on the way out of a failed transaction. Its own failure is dropped: the error being
// handled is the one to report, and a connection that broke has no transaction left to end.
void rollbackQuietly(Poco::Data::Session& session) noexcept;

}  // namespace dnsh
