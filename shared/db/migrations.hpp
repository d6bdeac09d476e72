#pragma once
// Schema migrations (deploy/migrations/NNN_name.sql), embedded in the binary at build time,
// applied in order exactly once and recorded in schema_migrations, each in a transaction of its
// own under a transaction-level advisory lock: concurrent runs (two deploys at once) are safe,
// the second waits, then finds nothing to do; and a run through PgBouncer in transaction mode
// leaves no lock or setting behind on a pooled connection.
#include <Poco/Data/Session.h>

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

// Returns the names of the migrations this call applied; `onApplied` (if set) hears of each as it
// commits, so that a caller can say which ones were when a later one fails. A migration that
// fails is rolled back and ends the run: Error naming it and what PostgreSQL said (the code of
// the Error it threw, else Internal); those before it stay applied.
std::vector<std::string> applyMigrations(Poco::Data::Session& session,
                                         const std::vector<Migration>& migrations,
                                         const MigrationApplied& onApplied = {});

}  // namespace dnsh
