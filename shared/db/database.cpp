#include "db/database.hpp"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/config_variables.hpp"
#include "db/server_notices.hpp"
#include "db/server_state.hpp"
#include "db/sql.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// Fail fast when the server is down instead of waiting for the OS TCP timeout: 3 s per host
// unless the environment says otherwise (connect_timeout in DATABASE_URL wins over both).
void defaultConnectTimeoutOnce() {
    static std::once_flag once;
    std::call_once(once, [] { setenv("PGCONNECT_TIMEOUT", "3", 0); });
}

void registerConnectorOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Data::PostgreSQL::Connector::registerConnector();
        defaultConnectTimeoutOnce();
    });
}

// libpq's words about a failed connection as one line (it ends each host's message with a
// newline, its hints with "\n\t"), bounded: a log field.
std::string oneLogLine(const std::string& reason) {
    std::string line;
    for (char c : reason) {
        const bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
        if (!space)
            line.push_back(c);
        else if (!line.empty() && line.back() != ' ')
            line.push_back(' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    constexpr std::size_t kMostReason = 1000;
    if (line.size() > kMostReason) {
        std::size_t cut = kMostReason;
        while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
        line.resize(cut);
        line += "...";
    }
    return line;
}

// Why libpq cannot open `connection`, "" when it can: a connection of libpq's own, always
// closed (PQfinish; Poco never sees it), made before Poco's. Poco 1.11 leaks the PGconn of a
// failed connect (~36 KB, found by LeakSanitizer), and its socket with it: libpq keeps a failed
// connection's socket open until PQfinish. PQping, asked first before, passes every refusal of
// a server that answered but 57P03 as "accepting connections" (too many clients 53300, a wrong
// password 28P01, pg_hba 28000, no such database 3D000), so each of those reached Poco and cost
// a descriptor: a scheduler retrying through a role's connection limit ran out of them and
// stayed stuck after PostgreSQL came back. On a failure PQping then names how far libpq got:
// NO_ATTEMPT an option libpq refused ("invalid sslmode value"), with no I/O; REJECT a server that
// answered at once (starting up, shutting down); OK one that answered and refused us; NO_RESPONSE
// a refused or timed-out connect, an unknown host, but also every failure on the client's side
// of TLS ("root certificate file ... does not exist"), which no SQLSTATE tells from a server
// that is not there. An attempt that took a second or more waited for a host that did not
// answer: PQping would only wait as long again (a handler's 503 twice as late), so it is not
// asked. Redacted (libpq quotes host names, paths and values: a password misplaced in a URI
// among them) and bounded: it is a log field.
std::string connectFailure(const std::string& connection) {
    const auto started = std::chrono::steady_clock::now();
    std::string reason;
    {
        std::unique_ptr<PGconn, decltype(&PQfinish)> probe(PQconnectdb(connection.c_str()),
                                                           &PQfinish);
        if (probe && PQstatus(probe.get()) == CONNECTION_OK) return "";
        reason = probe ? redactConnectionError(PQerrorMessage(probe.get())) : "out of memory";
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    const PGPing ping =
        took >= std::chrono::seconds(1) ? PQPING_NO_RESPONSE : PQping(connection.c_str());
    std::string what = ping == PQPING_NO_ATTEMPT ? "no connection attempted"
                       : ping == PQPING_REJECT   ? "PostgreSQL is not accepting connections"
                       : ping == PQPING_OK       ? "PostgreSQL refused the connection"
                                                 : "PostgreSQL could not be reached";
    if (took >= std::chrono::seconds(1))
        what += ", no connection in " + std::to_string(took.count()) +
                " ms (PGCONNECT_TIMEOUT or connect_timeout per host)";
    const std::string line = oneLogLine(reason);
    return line.empty() ? what : std::string(what) + ": " + line;
}

// How this process logs a PostgreSQL it cannot reach (summarizeDatabaseOutages). One for the
// process: its workers, each with a session of its own, fail together.
class OutageLog {
public:
    void summarize() { summarized_ = true; }

    void failed(const std::string& detail) {
        if (!summarized_) {
            logEvent(LogLevel::Error, "database unavailable", {{"detail", detail}});
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        if (!down_) {
            down_ = true;
            since_ = now;
        }
        ++failures_;
        // Quiet within a minute of the last line, also across a short return in between (a
        // connection limit some sessions get under): at most two lines a minute however it flaps.
        if (lastLine_ && now - *lastLine_ < kOutageLineInterval) return;
        logEvent(LogLevel::Error, reported_ ? "database still unavailable" : "database unavailable",
                 {{"detail", detail},
                  {"failures", failures_},
                  {"unavailable_for_s", secondsSince(now)}});
        reported_ = true;
        lastLine_ = now;
        failures_ = 0;
    }

    // A session opened: an outage whose failure was logged ends in a line of its own.
    void reached() {
        if (!summarized_) return;
        std::lock_guard<std::mutex> lock(mutex_);
        if (!down_) return;
        if (reported_)
            logEvent(LogLevel::Info, "database reachable again",
                     {{"unavailable_for_s", secondsSince(std::chrono::steady_clock::now())},
                      {"failures_unlogged", failures_}});
        down_ = false;
        reported_ = false;
        failures_ = 0;
    }

private:
    static constexpr std::chrono::minutes kOutageLineInterval{1};

    long long secondsSince(std::chrono::steady_clock::time_point now) const {
        return std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
    }

    std::atomic<bool> summarized_{false};
    std::mutex mutex_;
    bool down_ = false;      // a failure since the last session opened
    bool reported_ = false;  // this outage's "database unavailable" is logged
    long long failures_ = 0;  // since the last line
    std::chrono::steady_clock::time_point since_;
    std::optional<std::chrono::steady_clock::time_point> lastLine_;
};

// An idle connection has nothing to read (the service never LISTENs) unless the server wrote to
// it: a FATAL message and end of file when it was terminated or shut down (pg_terminate_backend,
// a restart). Anything there means the connection is replaced: cheaper than finding out.
bool closedWhileIdle(PGconn* connection) {
    const int socket = PQsocket(connection);
    if (socket < 0) return true;
    pollfd readable{socket, POLLIN, 0};
    return poll(&readable, 1, 0) != 0;
}

OutageLog& outageLog() {
    static OutageLog log;
    return log;
}

// PGCONNECT_TIMEOUT's seconds when it is a whole number of at least 1; else 3 (libpq would wait
// for ever on 0, and refuse every connection on anything that is not a number).
std::string connectTimeoutSeconds() {
    const char* value = std::getenv("PGCONNECT_TIMEOUT");
    const std::string seconds = value ? value : "";
    const bool valid = !seconds.empty() && seconds.size() <= 9 &&
                       seconds.find_first_not_of("0123456789") == std::string::npos &&
                       std::stol(seconds) >= 1;
    return valid ? seconds : "3";
}

}  // namespace

std::string libpqConnectionString(const std::string& databaseUrl, const DatabaseLimits& limits) {
    defaultConnectTimeoutOnce();
    std::string connection = withKeepalives(toKeyValueConnectionString(databaseUrl), limits);
    // Poco 1.11's connector puts connect_timeout=<its login timeout, 60 s> into every string it
    // opens (PostgreSQL::SessionImpl::open), and libpq takes a string's parameter over
    // PGCONNECT_TIMEOUT: a host that drops packets cost 60 s per connection. So the string
    // says it, unless the URL does (Poco keeps the string's own over its default).
    if ((" " + connection).find(" connect_timeout=") == std::string::npos)
        connection += (connection.empty() ? "" : " ") + std::string("connect_timeout='") +
                      connectTimeoutSeconds() + "'";
    return connection;
}

void setTransactionTimeouts(Poco::Data::Session& session, std::chrono::milliseconds statement,
                            std::chrono::milliseconds lock) {
    executeScript(session, "SET LOCAL statement_timeout = " + std::to_string(statement.count()) +
                               "; SET LOCAL lock_timeout = " + std::to_string(lock.count()));
}

Database::Database(std::string connectionString, DatabaseLimits limits)
    : connectionString_(std::move(connectionString)), limits_(limits) {
    registerConnectorOnce();
}

Poco::Data::Session& Database::session() {
    if (session_ && droppedWhileIdle()) disconnect();
    if (session_) return *session_;
    try {
        const std::string connection = libpqConnectionString(connectionString_, limits_);
        // A URL Poco's connector would tear apart (a value with a space, which loadConfig
        // refuses; a program may be given one all the same) is never handed to it: its connect
        // would fail, leak its PGconn (below) and quote the piece after the tear, the password.
        try {
            config_variables::checkDatabaseUrl(connectionString_);
        } catch (const ConfigError& e) {
            unavailable(e.what());
        }
        // Poco 1.11 leaks a failed connect, its socket included (connectFailure): a connection
        // of libpq's own first. (One refused between the two still leaks; that takes a server
        // that accepted us a moment before.)
        if (const std::string failure = connectFailure(connection); !failure.empty())
            unavailable(failure);
        session_.emplace("PostgreSQL", connection);
        logServerNotices(connectionOf(*session_));
        usePreparedStatements(connectionOf(*session_), limits_.prepareStatements);
        // Every statement of the session is bounded (README "Configuration"). Set here rather
        // than in the startup packet's options, which PgBouncer refuses. In milliseconds.
        executeScript(
            *session_,
            "SET statement_timeout = " + std::to_string(limits_.statementTimeout.count()) +
                "; SET lock_timeout = " + std::to_string(limits_.lockTimeout.count()));
        outageLog().reached();
    } catch (const Poco::Exception& e) {
        // libpq's words, as Poco passes them on: a connection string Poco mangled (a value with
        // a space, which loadConfig refuses) makes them quote the piece after it, the password.
        unavailable(redactConnectionError(e.displayText()));
    } catch (const std::invalid_argument& e) {
        // The operator learns what is wrong from the log (redacted: DATABASE_URL may hold a
        // password); a client only that something is, never the URL or libpq's words about it.
        logEvent(LogLevel::Error, "DATABASE_URL does not parse", {{"detail", e.what()}});
        throw Error(ErrorCode::Internal, "internal error");
    }
    return *session_;
}

bool Database::isTimeout(const SqlError& error) {
    // 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout), 40P01
    // deadlock_detected, 40001 serialization_failure: the transaction was rolled back whole.
    return error.sqlState() == "57014" || rowContention(error.sqlState());
}

void Database::timedOut(const SqlError& error) {
    logEvent(LogLevel::Warn, "database statement cancelled",
             {{"sqlstate", error.sqlState()}, {"detail", error.message()}});
    const std::string what = error.sqlState() == "57014"   ? "a statement ran too long"
                             : error.lockNotAvailable()    ? "a row stayed locked too long"
                                                           : "a concurrent change conflicted";
    throw Error(ErrorCode::DatabaseTimeout, "database busy: " + what + "; retry");
}

void Database::raiseIfServerState(const SqlError& error) {
    if (isTimeout(error)) timedOut(error);
    const std::string& state = error.sqlState();
    // This connection stays on a server that takes no writes, and libpq chooses a host
    // (target_session_attrs) only when it connects: dropped, the next use connects again.
    // READ ONLY by our own hold-back: the session stays, the write is refused until a probe
    // finds commits confirmed.
    if (refusesWrites(state) && writesHeldBack()) writesRefused();
    if (refusesWrites(state))
        unavailable("PostgreSQL cannot take this connection's statements (SQLSTATE " + state +
                    ": " + oneLogLine(error.message()) + "); closed, to connect again");
    const std::string shortage = resourceShortage(state);
    if (shortage.empty()) return;
    // The transaction was rolled back whole; retried later it may go through, so it is not the
    // request's or the order step's own failure (counted, a scheduler step would end the order
    // failed with a certificate the CA issued left unstored).
    logEvent(LogLevel::Warn, "database short of resources",
             {{"sqlstate", state}, {"detail", error.message()}});
    throw Error(ErrorCode::DatabaseTimeout, "database unavailable: " + shortage + "; retry later");
}

void Database::ping(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    if (readiness_ && closedWhileIdle(readiness_.get())) readiness_.reset();
    if (!readiness_) connectForReadiness(deadline, within);
    PGconn* connection = readiness_.get();
    auto fail = [&](const std::string& detail) {
        readiness_.reset();
        unavailable(detail);
    };
    if (PQsendQuery(connection, "SELECT 1") != 1) fail(PQerrorMessage(connection));
    while (true) {
        if (PQconsumeInput(connection) != 1) fail(PQerrorMessage(connection));
        if (PQisBusy(connection) == 0) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            fail("no answer to SELECT 1 within " + std::to_string(within.count()) + " ms");
        pollfd readable{PQsocket(connection), POLLIN, 0};
        ::poll(&readable, 1, static_cast<int>(left.count()));
    }
    bool ok = true;
    std::string detail;
    while (PGresult* result = PQgetResult(connection)) {
        if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            ok = false;
            detail = PQresultErrorMessage(result);
        }
        PQclear(result);
    }
    if (!ok) fail(detail);
}

// ping's connect (db/background_connect.hpp), waited for until `deadline`: a first host that
// never answers makes the probes 503 until libpq gives up on it (connect_timeout) and reaches
// the next one.
void Database::connectForReadiness(std::chrono::steady_clock::time_point deadline,
                                   std::chrono::milliseconds within) {
    if (!connecting_) {
        std::string keyValue;
        try {
            keyValue = libpqConnectionString(connectionString_, limits_);
        } catch (const std::invalid_argument& e) {
            logEvent(LogLevel::Error, "DATABASE_URL does not parse", {{"detail", e.what()}});
            throw Error(ErrorCode::Internal, "internal error");
        }
        connecting_.emplace(keyValue);
    }
    PgConnection opened = connecting_->takeBy(deadline);
    // Still under way: the next probe waits for the same connect.
    if (!opened)
        unavailable("no connection to PostgreSQL within " + std::to_string(within.count()) +
                    " ms; still trying");
    connecting_.reset();
    readiness_ = std::move(opened);
    if (PQstatus(readiness_.get()) != CONNECTION_OK) {
        const std::string reason = redactConnectionError(PQerrorMessage(readiness_.get()));
        readiness_.reset();
        unavailable(oneLogLine(reason));
    }
    outageLog().reached();
}

bool Database::isConnected() {
    return session_ && PQstatus(connectionOf(*session_)) == CONNECTION_OK;
}

bool Database::droppedWhileIdle() {
    return closedWhileIdle(connectionOf(*session_));
}

void Database::disconnect() {
    if (session_) forgetPreparedStatements(connectionOf(*session_));
    try {
        if (session_) session_->close();
    } catch (const Poco::Exception&) {
        // Closing a dead connection may complain; the session is dropped either way.
    }
    session_.reset();
}

void Database::unavailable(const std::string& detail) {
    disconnect();
    outageLog().failed(detail);
    throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
}

void summarizeDatabaseOutages() {
    outageLog().summarize();
}

bool databaseUnreachable(const std::exception& error) {
    const auto* failure = dynamic_cast<const Error*>(&error);
    return failure != nullptr && failure->code() == ErrorCode::DatabaseUnavailable;
}

void executeScript(Poco::Data::Session& session, const std::string& sql) {
    PGconn* connection = connectionOf(session);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection, sql.c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throwSqlError(connection, result.get());
}

void rollbackQuietly(Poco::Data::Session& session) noexcept {
    try {
        executeScript(session, "ROLLBACK");
    } catch (...) {
    }
}

void checkDatabase(Database& database) {
    database.ping(kReadinessDeadline);
}

}  // namespace dnsh
