#pragma once
// One PostgreSQL session (Poco Data), opened on first use and re-opened after the server dropped
// it, so a long-lived FastCGI process survives database restarts and pg_terminate_backend().
#include <Poco/Data/DataException.h>
#include <Poco/Data/Session.h>

#include <optional>
#include <string>
#include <type_traits>

#include "core/error.hpp"

namespace dnsh {

class Database {
public:
    explicit Database(std::string connectionString);

    // Runs `work` on the session, once. A connection the server dropped while idle is noticed
    // before the work starts (no round trip) and replaced. A connection lost while the work runs
    // is not retried: a write may have committed without the answer reaching us, and running it
    // again would tell the client its own insert was a conflict. The caller gets
    // Error(DatabaseUnavailable), a 503 the client may retry. Throws the same when the database
    // cannot be reached.
    template <typename Work>
    auto withSession(Work&& work) -> std::invoke_result_t<Work&, Poco::Data::Session&> {
        Poco::Data::Session& current = session();
        try {
            return work(current);
        } catch (const Poco::Data::DataException&) {
            if (isConnected()) throw;
            unavailable("connection lost while a request used it");
        }
    }

    // The open session; opens one (or a fresh one, when the server closed the old one while it
    // sat idle).
    Poco::Data::Session& session();

private:
    bool isConnected();
    bool droppedWhileIdle();
    void disconnect();
    [[noreturn]] void unavailable(const std::string& detail);

    std::string connectionString_;
    std::optional<Poco::Data::Session> session_;
};

// GET /readyz: one round trip; Error(DatabaseUnavailable) when PostgreSQL does not answer.
void checkDatabase(Database& database);

// libpq accepts URIs and key=value strings; Poco's connector only key=value. Converts either to
// key=value with libpq's own parser. Throws std::invalid_argument.
std::string toKeyValueConnectionString(const std::string& databaseUrl);

// Runs an SQL script of several statements (migrations) through libpq directly, since prepared
// statements (what Poco uses) take only one statement each.
void executeScript(Poco::Data::Session& session, const std::string& sql);

}  // namespace dnsh
