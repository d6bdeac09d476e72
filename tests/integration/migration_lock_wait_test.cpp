// A migration that alters a table another transaction holds (a pg_dump, a psql left in a
// transaction) waits for it a short while at a time (README "Upgrade"). PostgreSQL queues every
// later request for the table behind the waiting ALTER TABLE: with no lock_timeout, as before,
// every request for `domains` waited out DB_LOCK_TIMEOUT and answered 503 for as long as the
// holder lasted, and the migration waited with it, up to the units' TimeoutStartSec.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"
#include "db/sql.hpp"
#include "log/log.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The last migration before 030_idempotency_keys, whose ALTER TABLE domains needs ACCESS
// EXCLUSIVE on it.
const std::string kBeforeAlter = "029_long_lived_expiry_index";
const std::string kAlter = "030_idempotency_keys";
// A later migration on another table: 033_order_claimed_at alters acme_orders.
const std::string kLaterAlter = "033_order_claimed_at";
const std::string kHolderName = "migration_lock_holder";

// A transaction that has read `table` and stays open, as pg_dump's does (ACCESS SHARE on the
// table until it ends).
class OpenRead {
public:
    explicit OpenRead(const std::string& url, const std::string& table = "domains")
        : database_(url) {
        database_.withSession([&](Poco::Data::Session& session) {
            executeScript(session, "SET application_name = '" + kHolderName +
                                       "'; BEGIN; SELECT count(*) FROM " + table);
            return true;
        });
    }
    ~OpenRead() { end(); }
    OpenRead(const OpenRead&) = delete;
    OpenRead& operator=(const OpenRead&) = delete;

    void end() {
        if (ended_) return;
        ended_ = true;
        try {
            database_.withSession([](Poco::Data::Session& session) {
                executeScript(session, "COMMIT");
                return true;
            });
        } catch (...) {
            // The scratch database is dropped WITH (FORCE) after the case anyway.
        }
    }

private:
    Database database_;
    bool ended_ = false;
};

struct MigrationOutcome {
    std::vector<std::string> applied;
    bool failed = false;
    ErrorCode code = ErrorCode::Internal;
    std::string error;
};

// Every migration, on a connection of its own, in a thread.
std::future<MigrationOutcome> migrateInBackground(const std::string& url,
                                                  const MigrationLockWaits& lockWaits) {
    return std::async(std::launch::async, [url, lockWaits] {
        MigrationOutcome outcome;
        try {
            Database database(url);
            outcome.applied =
                applyMigrations(database.session(), embeddedMigrations(), {}, lockWaits);
        } catch (const Error& e) {
            outcome = {{}, true, e.code(), e.what()};
        } catch (const std::exception& e) {
            outcome = {{}, true, ErrorCode::Internal, errorDetail(e)};
        }
        return outcome;
    });
}

// True once a lock request on this database's `table` waits (the migration's ALTER TABLE);
// false when none did within a minute.
bool lockWaitsOn(Database& observer, const std::string& table = "domains") {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        const bool waits = observer.withSession([&](Poco::Data::Session& session) {
            return !runSql(session,
                           "SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'relation' "
                           "AND relation = $1::regclass AND database = (SELECT oid FROM "
                           "pg_database WHERE datname = current_database())",
                           {table})
                        .empty();
        });
        if (waits) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

}  // namespace

TEST_CASE("migrations: an ALTER TABLE waiting behind a long transaction lets requests through") {
    ScratchDatabase scratch("dnsh_migrate_yields");
    scratch.migrate(kBeforeAlter);
    // Declared before the holder: a case that stops early ends the holder first, then waits for
    // the migration (which the holder's end lets finish).
    std::future<MigrationOutcome> migrated;
    OpenRead holder(scratch.url());
    // The wait per attempt as shipped; short pauses and a bound longer than the case, so that
    // the migration keeps trying throughout and finishes soon after the holder ends.
    MigrationLockWaits lockWaits;
    lockWaits.firstPause = 100ms;
    lockWaits.longestPause = 500ms;
    lockWaits.giveUpAfter = 30min;
    migrated = migrateInBackground(scratch.url(), lockWaits);

    // A handler's connection (DB_LOCK_TIMEOUT as shipped, 5 s) reads domains while the
    // migration's request for it waits: it queues behind that request.
    Database handler(scratch.url());
    CHECK_MESSAGE(lockWaitsOn(handler), "the migration never waited for domains");
    std::string readError;
    try {
        handler.withSession([](Poco::Data::Session& session) {
            runSql(session, "SELECT id FROM domains LIMIT 1");
            return true;
        });
    } catch (const std::exception& e) {
        readError = errorDetail(e);
    }
    CHECK_MESSAGE(readError.empty(),
                  "a read of domains behind the migration failed: " << readError);
    // Still trying, neither given up nor through.
    CHECK(migrated.wait_for(0s) == std::future_status::timeout);
    CHECK(scratch.text("SELECT count(*) FROM schema_migrations WHERE name = '" + kAlter + "'") ==
          "0");

    holder.end();
    REQUIRE_MESSAGE(migrated.wait_for(2min) == std::future_status::ready,
                    "the migration had not finished 2 min after the holder ended");
    const MigrationOutcome outcome = migrated.get();
    CHECK_MESSAGE(!outcome.failed, outcome.error);
    REQUIRE_FALSE(outcome.applied.empty());
    CHECK(outcome.applied.front() == kAlter);
    CHECK(scratch.text("SELECT count(*) FROM schema_migrations") ==
          std::to_string(embeddedMigrations().size()));
}

TEST_CASE("migrations: a table locked past the bound fails the migration, naming the holder, "
          "and changes nothing") {
    ScratchDatabase scratch("dnsh_migrate_gives_up");
    scratch.migrate(kBeforeAlter);
    const std::string recordedBefore = scratch.text("SELECT count(*) FROM schema_migrations");
    std::future<MigrationOutcome> migrated;
    OpenRead holder(scratch.url());
    MigrationLockWaits lockWaits;
    lockWaits.perAttempt = 500ms;
    lockWaits.firstPause = 100ms;
    lockWaits.longestPause = 200ms;
    lockWaits.giveUpAfter = 3s;
    migrated = migrateInBackground(scratch.url(), lockWaits);

    const bool ended = migrated.wait_for(2min) == std::future_status::ready;
    CHECK_MESSAGE(ended, "the migration was still waiting for domains after 2 min");
    holder.end();  // lets a migration that waits without a bound finish
    const MigrationOutcome outcome = migrated.get();
    INFO("error: " << outcome.error);
    CHECK(outcome.failed);
    CHECK(outcome.code == ErrorCode::DatabaseTimeout);
    CHECK(outcome.error.find("migration " + kAlter + " failed and was rolled back") !=
          std::string::npos);
    // Who holds the table, and that running it again later is the way out.
    CHECK(outcome.error.find("application '" + kHolderName + "', idle in transaction") !=
          std::string::npos);
    CHECK(outcome.error.find("tables domains)") != std::string::npos);
    CHECK(outcome.error.find("run dnsh-admin migrate again") != std::string::npos);
    // The database is as it was: nothing recorded, the column not added.
    CHECK(scratch.text("SELECT count(*) FROM schema_migrations") == recordedBefore);
    CHECK(scratch.text("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                       "'domains' AND column_name = 'idempotency_key'") == "0");
}

TEST_CASE("migrations: each migration held by another transaction gets the whole bound, however "
          "long one before it waited") {
    ScratchDatabase scratch("dnsh_migrate_bound_each");
    scratch.migrate(kBeforeAlter);
    std::future<MigrationOutcome> migrated;
    OpenRead domainsHolder(scratch.url());
    OpenRead ordersHolder(scratch.url(), "acme_orders");
    // Each holder outlasts a few of a migration's tries and ends well within the 10 s bound
    // (7 s, then 6 s); the two together outlast it.
    MigrationLockWaits lockWaits;
    lockWaits.perAttempt = 500ms;
    lockWaits.firstPause = 100ms;
    lockWaits.longestPause = 200ms;
    lockWaits.giveUpAfter = 10s;
    migrated = migrateInBackground(scratch.url(), lockWaits);

    Database observer(scratch.url());
    REQUIRE_MESSAGE(lockWaitsOn(observer), "030 never waited for domains");
    std::this_thread::sleep_for(7s);
    domainsHolder.end();
    // 030 to 032 go through; 033 waits for acme_orders.
    REQUIRE_MESSAGE(lockWaitsOn(observer, "acme_orders"), "033 never waited for acme_orders");
    std::this_thread::sleep_for(6s);
    // Before, the bound ran from 030's first timeout (0.5 s into its wait): 033 gave up about
    // 3.5 s into its own tries ("migration 033_order_claimed_at failed and was rolled back:
    // database busy ..."), 2 s before this holder ended. Now it may try until 10 s.
    CHECK(migrated.wait_for(0s) == std::future_status::timeout);
    ordersHolder.end();
    REQUIRE_MESSAGE(migrated.wait_for(2min) == std::future_status::ready,
                    "the migration had not finished 2 min after the holders ended");
    const MigrationOutcome outcome = migrated.get();
    CHECK_MESSAGE(!outcome.failed, outcome.error);
    CHECK(std::find(outcome.applied.begin(), outcome.applied.end(), kLaterAlter) !=
          outcome.applied.end());
    CHECK(scratch.text("SELECT count(*) FROM schema_migrations") ==
          std::to_string(embeddedMigrations().size()));
}
