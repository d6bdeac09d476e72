#include "db/migrations.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <set>

#include "db/database.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Arbitrary constant shared by every dns-handling process: "dnsh" in ASCII.
constexpr long long kMigrationLockId = 0x646e7368;

}  // namespace

std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations) {
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
