#include "db/migrations.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <set>

#include "db/database.hpp"
#include "db/sql.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Arbitrary constant shared by every dns-handling process: "dnsh" in ASCII.
constexpr long long kMigrationLockId = 0x646e7368;

// Migrations are the one operation allowed to run long: an index built over millions of rows,
// the wait for another host's migrations (the advisory lock). No statement or lock timeout while
// they run; the session's own (DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT) again afterwards.
class UnboundedWhileMigrating {
public:
    explicit UnboundedWhileMigrating(Poco::Data::Session& session) : session_(session) {
        const SqlRows saved = runSql(session_,
                                     "SELECT current_setting('statement_timeout') AS statement, "
                                     "current_setting('lock_timeout') AS lock");
        statement_ = saved.text(0, "statement");
        lock_ = saved.text(0, "lock");
        executeScript(session_, "SET statement_timeout = 0; SET lock_timeout = 0");
    }
    ~UnboundedWhileMigrating() {
        try {
            runSql(session_,
                   "SELECT set_config('statement_timeout', $1, false), "
                   "set_config('lock_timeout', $2, false)",
                   {statement_, lock_});
        } catch (...) {
            // A session that broke meanwhile is replaced, with its timeouts, on its next use.
        }
    }
    UnboundedWhileMigrating(const UnboundedWhileMigrating&) = delete;
    UnboundedWhileMigrating& operator=(const UnboundedWhileMigrating&) = delete;

private:
    Poco::Data::Session& session_;
    std::string statement_;
    std::string lock_;
};

}  // namespace

std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations) {
    const UnboundedWhileMigrating unbounded(session);
    executeScript(session, "SET client_min_messages = warning");  // no "already exists" notices
    executeScript(session, "SELECT pg_advisory_lock(" + std::to_string(kMigrationLockId) + ")");
    std::vector<std::string> applied;
    try {
        executeScript(session,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " name text PRIMARY KEY,"
                      " applied_at timestamptz NOT NULL DEFAULT now())");
        std::vector<std::string> done;
        session << "SELECT name FROM schema_migrations", into(done), now;
        const std::set<std::string> already(done.begin(), done.end());

        std::vector<Migration> ordered = migrations;
        std::sort(ordered.begin(), ordered.end(),
                  [](const Migration& a, const Migration& b) { return a.name < b.name; });
        for (const Migration& migration : ordered) {
            if (already.count(migration.name)) continue;
            // One transaction per file: a failing migration leaves no half-applied schema.
            executeScript(session, "BEGIN");
            try {
                executeScript(session, migration.sql);
                std::string name = migration.name;
                session << "INSERT INTO schema_migrations (name) VALUES ($1)", use(name), now;
                executeScript(session, "COMMIT");
            } catch (...) {
                executeScript(session, "ROLLBACK");
                throw;
            }
            applied.push_back(migration.name);
        }
    } catch (...) {
        executeScript(session,
                      "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockId) + ")");
        throw;
    }
    executeScript(session, "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockId) + ")");
    return applied;
}

}  // namespace dnsh
