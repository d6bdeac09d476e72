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

    // Runs `work` on the session. When the connection turns out to be lost, reconnects and runs
    // it once more (the failed attempt's transaction did not commit); when the database cannot be
    // reached, throws Error(DatabaseUnavailable).
    template <typename Work>
    auto withSession(Work&& work) -> std::invoke_result_t<Work&, Poco::Data::Session&> {
        for (int attempt = 0;; ++attempt) {
            Poco::Data::Session& current = session();
            try {
                return work(current);
            } catch (const Poco::Data::DataException&) {
                if (isConnected()) throw;
                disconnect();
                if (attempt > 0) unavailable("connection lost twice");
            }
        }
    }

    // Opens the session now (for tools that want to fail early).
    Poco::Data::Session& session();

private:
    bool isConnected();
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
