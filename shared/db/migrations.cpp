#include "db/migrations.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "config/duration.hpp"
#include "core/error.hpp"
#include "db/commit_wait.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/sql_time.hpp"
#include "log/log.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Arbitrary constant shared by every dns-handling process: "dnsh" in ASCII.
constexpr long long kMigrationLockId = 0x646e7368;

// Every transaction of a run begins so: no statement timeout (an index built over millions of
// rows), no wait limit for the lock that keeps two hosts' runs apart (another host's migrations
// may take minutes), no "already exists" notices. Then, for the tables the migration changes, a
// short one (MigrationLockWaits): a longer wait would stall every request for them. On PostgreSQL
// 14 and later the backend also checks every second that we are still there, so a migrate killed
// mid-statement (systemd's TimeoutStartSec, Ctrl-C) does not leave its backend running on, its
// locks held. All of it for this transaction only (SET LOCAL, set_config(..., true),
// pg_advisory_xact_lock): behind PgBouncer in transaction mode each transaction may run on another
// server connection, where a session's lock or setting would stay behind after the run (a lock no
// unlock reaches makes every later run wait for ever; a statement_timeout of 0 would unbound other
// clients' statements on that connection).
template <class Work>
auto inMigrationTransaction(Poco::Data::Session& session, std::chrono::milliseconds tableWait,
                            Work&& work) {
    try {
        // Inside the try: a failure here too leaves no aborted transaction on the connection.
        executeScript(session,
                      "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; "
                      "SET LOCAL client_min_messages = warning; "
                      "SELECT set_config('client_connection_check_interval', '1000', true) "
                      "WHERE current_setting('server_version_num')::int >= 140000; "
                      "SELECT pg_advisory_xact_lock(" +
                          std::to_string(kMigrationLockId) +
                          "); SET LOCAL lock_timeout = " + std::to_string(tableWait.count()));
        auto result = work();
        commitTransaction(session);  // bounded when the caller says (dnsh-admin migrate)
        return result;
    } catch (...) {
        rollbackQuietly(session);
        throw;
    }
}

// The sessions, other than this one, whose transactions have held a lock on a table of this
// database since before the attempt that timed out began: what an ALTER TABLE waits behind (a
// pg_dump, a psql left in a transaction). Not pg_blocking_pids(): the waiting backend cannot ask
// it while it waits, and has no blockers left once its wait ended. No query text (it may hold
// values). State and times are NULL for another role's session unless this role has
// pg_read_all_stats; the role and application name are always shown.
std::string tableLockHolders(Poco::Data::Session& session, std::chrono::milliseconds waited) {
    static const std::string sql =
        "SELECT a.pid, a.usename, a.application_name, a.state, "
        DNSH_RFC3339("a.xact_start") " AS xact_start, "
        DNSH_RFC3339("a.query_start") " AS query_start, "
        "string_agg(DISTINCT c.relname::text, ',' ORDER BY c.relname::text) AS tables "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND c.relkind IN ('r', 'p') AND c.relnamespace <> 'pg_catalog'::regnamespace "
        "AND (a.xact_start IS NULL OR a.xact_start < clock_timestamp() - $1::interval) "
        "GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 5 NULLS LAST LIMIT 5";
    const SqlRows rows =
        runSql(session, sql, {std::to_string(waited.count()) + " milliseconds"});
    std::string holders;
    for (int row = 0; row < rows.size(); ++row) {
        std::string holder = "pid " + rows.text(row, "pid") + " (role " +
                             rows.optionalText(row, "usename").value_or("?") + ", application '" +
                             rows.optionalText(row, "application_name").value_or("") + "'";
        if (const auto state = rows.optionalText(row, "state")) holder += ", " + *state;
        if (const auto since = rows.optionalText(row, "xact_start"))
            holder += ", transaction since " + *since;
        if (const auto since = rows.optionalText(row, "query_start"))
            holder += ", last statement since " + *since;
        holder += ", tables " + rows.text(row, "tables") + ")";
        holders += (holders.empty() ? "" : "; ") + holder;
    }
    return holders.empty() ? "none found (the holder has ended, or it holds no table lock)"
                           : holders;
}

}  // namespace

std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations,
                                         const MigrationApplied& onApplied,
                                         const MigrationLockWaits& lockWaits) {
    using Clock = std::chrono::steady_clock;
    // `work` in a migration transaction, tried again while its tables stay locked (55P03). Each
    // attempt is a transaction of its own, rolled back whole: nothing is half applied, and
    // between attempts the requests queued behind it go through.
    auto retryingLockWaits = [&](const std::string& what, auto&& work) {
        // Since this migration's first attempt that ran out of lock_timeout: the bound is each
        // migration's, so time spent applying those before it (034 on a big table) does not
        // count against it (review-batchB #3).
        std::optional<Clock::time_point> retryingSince;
        std::chrono::milliseconds pause = lockWaits.firstPause;
        for (int attempt = 1;; ++attempt) {
            try {
                return inMigrationTransaction(session, lockWaits.perAttempt, work);
            } catch (const SqlError& e) {
                if (!e.lockNotAvailable()) throw;
            }
            if (!retryingSince) retryingSince = Clock::now();
            std::string holders;
            try {
                holders = tableLockHolders(session, lockWaits.perAttempt);
            } catch (const std::exception& e) {
                holders = "not known (" + errorDetail(e) + ")";
            }
            const auto retrying = Clock::now() - *retryingSince;
            if (retrying >= lockWaits.giveUpAfter)
                throw Error(
                    ErrorCode::DatabaseTimeout,
                    "database busy: other transactions kept its tables locked (" +
                        std::to_string(attempt) + " attempts of " +
                        formatDuration(lockWaits.perAttempt) + " over " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::seconds>(retrying).count()) +
                        " s); held by " + holders +
                        "; nothing of it was applied: run dnsh-admin migrate again once they end");
            logEvent(LogLevel::Warn, "migration waits for tables other transactions hold",
                     {{"migration", what},
                      {"attempt", attempt},
                      {"retry_in_ms", static_cast<long long>(pause.count())},
                      {"holders", holders}});
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, lockWaits.longestPause);
        }
    };
    const auto readApplied = [&] {
        executeScript(session,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " name text PRIMARY KEY,"
                      " applied_at timestamptz NOT NULL DEFAULT now())");
        std::vector<std::string> done;
        session << "SELECT name FROM schema_migrations", into(done), now;
        return std::set<std::string>(done.begin(), done.end());
    };
    std::set<std::string> already;
    try {
        already = retryingLockWaits("schema_migrations", readApplied);
    } catch (const UnconfirmedCommit&) {
        throw;  // dnsh-admin migrate says what it means (db/commit_wait.hpp)
    } catch (const Error& e) {
        throw Error(e.code(), std::string("reading schema_migrations failed: ") + e.what());
    }
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
            appliedNow = retryingLockWaits(migration.name, [&] {
                if (!runSql(session, "SELECT 1 FROM schema_migrations WHERE name = $1",
                            {migration.name})
                         .empty())
                    return false;
                executeScript(session, migration.sql);
                std::string name = migration.name;
                session << "INSERT INTO schema_migrations (name) VALUES ($1)", use(name), now;
                return true;
            });
        } catch (const UnconfirmedCommit&) {
            // Not rolled back: its COMMIT waits on for a synchronous standby (db/commit_wait.hpp).
            throw;
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
