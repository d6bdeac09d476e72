#include "metrics/heartbeat.hpp"

#include <Poco/Data/Statement.h>

using namespace Poco::Data::Keywords;

namespace dnsh {

std::unique_ptr<MetricsFlusher> startSchedulerMetrics(const std::string& databaseUrl,
                                                      const std::string& replica) {
    auto beat = [replica](Poco::Data::Session& session) {
        session << "INSERT INTO scheduler_heartbeats (replica) VALUES ($1) "
                   "ON CONFLICT (replica) DO UPDATE SET last_seen_at = now()",
            bind(replica), now;
        // A stopped replica's row stays a day (the last heartbeat stays visible), then goes.
        session << "DELETE FROM scheduler_heartbeats WHERE last_seen_at < now() - interval '1 day'",
            now;
    };
    return std::make_unique<MetricsFlusher>(databaseUrl, beat);
}

}  // namespace dnsh
