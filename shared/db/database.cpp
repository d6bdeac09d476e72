#include "db/database.hpp"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "db/sql.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

void registerConnectorOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Data::PostgreSQL::Connector::registerConnector();
        // Fail fast when the server is down instead of waiting for the OS TCP timeout.
        setenv("PGCONNECT_TIMEOUT", "3", 0);
    });
}

std::string quoteValue(const std::string& value) {
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
    }
    return quoted + "'";
}

}  // namespace

std::string toKeyValueConnectionString(const std::string& databaseUrl) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(databaseUrl.c_str(), &error), &PQconninfoFree);
    if (!options) {
        std::string why = error ? error : "unparseable";
        PQfreemem(error);
        while (!why.empty() && why.back() == '\n') why.pop_back();
        throw std::invalid_argument(why);
    }
    std::string result;
    for (PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr) continue;
        if (!result.empty()) result += ' ';
        result += std::string(option->keyword) + "=" + quoteValue(option->val);
    }
    return result;
}

Database::Database(std::string connectionString) : connectionString_(std::move(connectionString)) {
    registerConnectorOnce();
}

Poco::Data::Session& Database::session() {
    if (session_ && droppedWhileIdle()) disconnect();
    if (session_) return *session_;
    try {
        const std::string connection = toKeyValueConnectionString(connectionString_);
        // Poco 1.11 leaks the PGconn of a failed connect (~36 KB each, found by LeakSanitizer),
        // which a handler retrying through a long outage would pile up: ask first.
        if (PQping(connection.c_str()) != PQPING_OK)
            unavailable("PostgreSQL is not accepting connections");
        session_.emplace("PostgreSQL", connection);
    } catch (const Poco::Exception& e) {
        unavailable(e.displayText());
    } catch (const std::invalid_argument& e) {
        throw Error(ErrorCode::Internal, std::string("DATABASE_URL is not valid: ") + e.what());
    }
    return *session_;
}

bool Database::isConnected() {
    return session_ && PQstatus(connectionOf(*session_)) == CONNECTION_OK;
}

// An idle connection has nothing to read (the service never LISTENs) unless the server wrote to
// it: a FATAL message and end of file when it was terminated or shut down (pg_terminate_backend,
// a restart). Anything there means the connection is replaced: cheaper than finding out.
bool Database::droppedWhileIdle() {
    const int socket = PQsocket(connectionOf(*session_));
    if (socket < 0) return true;
    pollfd readable{socket, POLLIN, 0};
    return poll(&readable, 1, 0) != 0;
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
    logEvent(LogLevel::Error, "database unavailable", {{"detail", detail}});
    throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
}

void executeScript(Poco::Data::Session& session, const std::string& sql) {
    PGconn* connection = connectionOf(session);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection, sql.c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string message = PQresultErrorMessage(result.get());
        while (!message.empty() && message.back() == '\n') message.pop_back();
        throw Poco::Data::DataException(message);
    }
}

void checkDatabase(Database& database) {
    database.withSession([](Poco::Data::Session& session) {
        executeScript(session, "SELECT 1");
        return true;
    });
}

}  // namespace dnsh
