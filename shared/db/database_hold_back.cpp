// Database's side of the write hold-back (db/commit_wait.hpp): the probe before a work while
// this process holds its writes back, and the refusal of a write meanwhile. Apart from
// database.cpp, which keeps the session's life.
#include <Poco/Types.h>

#include "db/commit_wait.hpp"
#include "db/database.hpp"
#include "db/server_state.hpp"
#include "log/log.hpp"

namespace dnsh {

Poco::Data::Session& Database::sessionForWork() {
    Poco::Data::Session* current = &session();
    if (!writesHeldBack() || !claimCommitProbe()) return *current;
    bool confirmed = false;
    try {
        confirmed = commitsConfirmed(connectionOf(*current), limits_.statementTimeout);
    } catch (const SqlError& e) {
        // No commit_probes (42P01: a schema before 037, mid-upgrade) or a server that takes no
        // writes (25006): the probe tells nothing; the writes go, and the first unanswered one
        // holds them back again. Any other refusal (a lock, a full disk): not confirmed.
        logEvent(LogLevel::Warn, "commit probe failed",
                 {{"sqlstate", e.sqlState()}, {"detail", e.message()}});
        if (e.sqlState() != "42P01" && !refusesWrites(e.sqlState())) return *current;
        confirmed = true;
    }
    if (confirmed) {
        releaseWrites();
        logEvent(LogLevel::Info, "commits confirmed again: writes go", {});
        return *current;
    }
    logEvent(LogLevel::Warn, "writes held back: a commit probe was not confirmed",
             {{"probe_every_s", static_cast<Poco::Int64>(kCommitProbeInterval.count())}});
    // Its connection was shut down (commit_wait.cpp): a new one.
    disconnect();
    return session();
}

void Database::writesRefused() {
    // Not logged: the unanswered commit that began the hold-back was (unavailable), and a probe
    // that finds commits confirmed is.
    throw Error(ErrorCode::DatabaseUnavailable, "database unavailable");
}

}  // namespace dnsh
