#include "db/migrations.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "log/log.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Arbitrary constant shared by every dns-handling process: "dnsh" in ASCII.
constexpr long long kMigrationLockId = 0x646e7368;

// Every transaction of a run begins so: no statement or lock timeout (an index built over
// millions of rows, the wait for another host's migrations), no "already exists" notices, and
// the lock that keeps two hosts' runs apart. All of it for this transaction only (SET LOCAL,
// pg_advisory_xact_lock): behind PgBouncer in transaction mode each transaction may run on
// another server connection, where a session's lock or setting would stay behind after the run
// (a lock no unlock reaches makes every later run wait for ever; a statement_timeout of 0 would
// unbound other clients' statements on that connection).
template <class Work>
auto inMigrationTransaction(Poco::Data::Session& session, Work&& work) {
    executeScript(session,
                  "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; "
                  "SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock(" +
                      std::to_string(kMigrationLockId) + ")");
    try {
        auto result = work();
        executeScript(session, "COMMIT");
        return result;
    } catch (...) {
        try {
            executeScript(session, "ROLLBACK");
        } catch (...) {
            // A connection that broke has no transaction left to end.
        }
        throw;
    }
}

}  // namespace

std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations,
                                         const MigrationApplied& onApplied) {
    const std::set<std::string> already = inMigrationTransaction(session, [&] {
        executeScript(session,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " name text PRIMARY KEY,"
                      " applied_at timestamptz NOT NULL DEFAULT now())");
        std::vector<std::string> done;
        session << "SELECT name FROM schema_migrations", into(done), now;
        return std::set<std::string>(done.begin(), done.end());
    });
    std::vector<Migration> ordered = migrations;
    std::sort(ordered.begin(), ordered.end(),
              [](const Migration& a, const Migration& b) { return a.name < b.name; });
    std::vector<std::string> applied;
    for (const Migration& migration : ordered) {
        if (already.count(migration.name)) continue;
        // One transaction per file: a failing migration leaves no half-applied schema. Another
        // host may have applied it since the list was read (it held the lock meanwhile).
        bool appliedNow = false;
        try {
            appliedNow = inMigrationTransaction(session, [&] {
                if (!runSql(session, "SELECT 1 FROM schema_migrations WHERE name = $1",
                            {migration.name})
                         .empty())
                    return false;
                executeScript(session, migration.sql);
                std::string name = migration.name;
                session << "INSERT INTO schema_migrations (name) VALUES ($1)", use(name), now;
                return true;
            });
        } catch (const std::exception& e) {
            // Which one failed, not only PostgreSQL's words (a Poco exception's what() is only
            // its class name).
            const auto* error = dynamic_cast<const Error*>(&e);
            throw Error(error != nullptr ? error->code() : ErrorCode::Internal,
                        "migration " + migration.name + " failed and was rolled back: " +
                            errorDetail(e));
        }
        if (!appliedNow) continue;
        applied.push_back(migration.name);
        if (onApplied) onApplied(migration.name);
    }
    return applied;
}

}  // namespace dnsh
