#pragma once
// Schema migrations (deploy/migrations/NNN_name.sql), embedded in the binary at build time,
// applied in order exactly once and recorded in schema_migrations, each in a transaction of its
// own under a transaction-level advisory lock: concurrent runs (two deploys at once) are safe,
// the second waits, then finds nothing to do; and a run through PgBouncer in transaction mode
// leaves no lock or setting behind on a pooled connection.
#include <Poco/Data/Session.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace dnsh {

struct Migration {
    std::string name;  // file name without ".sql", e.g. "001_init"
    std::string sql;
};

const std::vector<Migration>& embeddedMigrations();

// Called with each migration's name as its transaction commits, in order.
using MigrationApplied = std::function<void(const std::string& name)>;

// How long a migration waits for the tables it changes (README "Upgrade"). PostgreSQL queues
// every later request for a table behind an ALTER TABLE waiting for it, so a migration that
// waited as long as a pg_dump or a transaction left open holds the table would hold up every
// request (each answers 503 after DB_LOCK_TIMEOUT, 5 s). Each attempt waits at most `perAttempt`;
// then it is rolled back, the transactions holding tables are logged, and it is tried again after
// a pause (from `firstPause`, doubling up to `longestPause`), until that migration has been
// retrying for `giveUpAfter` (each migration's own tries: the next one starts the count again).
struct MigrationLockWaits {
    std::chrono::milliseconds perAttempt{2'000};
    std::chrono::milliseconds firstPause{1'000};
    std::chrono::milliseconds longestPause{15'000};
    // Well below the units' TimeoutStartSec=1h: the failed start lets apt's restart return, and
    // systemd starts the unit again (Restart=on-failure) for another try.
    std::chrono::milliseconds giveUpAfter{std::chrono::minutes(10)};
};

// Returns the names of the migrations this call applied; `onApplied` (if set) hears of each as it
// commits, so that a caller can say which ones were when a later one fails. A migration that
// fails is rolled back and ends the run: Error naming it and what PostgreSQL said (the code of
// the Error it threw, else Internal); those before it stay applied. One that could not get its
// tables within `lockWaits` fails so, with Error(DatabaseTimeout) naming who held them.
std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations,
                                         const MigrationApplied& onApplied = {},
                                         const MigrationLockWaits& lockWaits = {});

}  // namespace dnsh
