#pragma once
// A server's notices (WARNING, NOTICE: PostgreSQL's "canceling wait for synchronous
// replication", "there is no transaction in progress") as log lines. libpq's default prints each
// to stderr as it comes, raw text between the JSON lines of the log.
#include <libpq-fe.h>

namespace dnsh {

// From now on `connection`'s notices are logged (warn, "database notice"), bounded.
void logServerNotices(PGconn* connection);

}  // namespace dnsh
