#pragma once
// A background thread per process that adds this process's counts (core/metric_registry.hpp) to
// the shared metric_counters table: every `interval` (METRICS_FLUSH_INTERVAL, 5 s), sooner once
// many events are pending, and once more when it is destroyed (at exit). It has its own database
// session, closed when a cycle finds nothing to write, so an idle handler process holds no second
// connection. Each flush is added once (032_metric_counter_batches.sql): a batch whose COMMIT's
// answer was lost is sent again alone under its number, and adds nothing if it had committed.
// While PostgreSQL cannot be reached the cycles keep their interval (at most 5 s in the
// scheduler: its heartbeat is among their work), none early, and log nothing of their own
// (Database logs the outage).
#include <Poco/Data/Session.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "db/database.hpp"
#include "metrics/counter_store.hpp"

namespace dnsh {

class MetricsFlusher {
public:
    // Runs on the flusher's session at every cycle and at stop (the scheduler's heartbeat).
    using SessionWork = std::function<void(Poco::Data::Session&)>;

    MetricsFlusher(std::string databaseUrl, DatabaseLimits limits,
                   std::chrono::milliseconds interval, SessionWork eachCycle = {},
                   SessionWork atStop = {});
    ~MetricsFlusher();
    MetricsFlusher(const MetricsFlusher&) = delete;
    MetricsFlusher& operator=(const MetricsFlusher&) = delete;

    static constexpr std::size_t kEarlyFlushEvents = 200;

private:
    void run();
    // Writes what is pending (and runs `work`); counts not stored stay pending: a batch sent
    // whose outcome is unknown as `unsettled_`, counts never sent in the registry. False when
    // PostgreSQL could not be reached (Database logged it: no warning of its own).
    bool flush(const SessionWork& work);

    std::string databaseUrl_;
    DatabaseLimits limits_;
    std::chrono::milliseconds interval_;
    std::optional<Database> database_;  // the flusher thread's, then the destructor's
    SessionWork eachCycle_;
    SessionWork atStop_;
    std::string flusherId_;                  // names this flusher's batches
    std::uint64_t batchesNumbered_ = 0;      // the number of the last batch made
    std::optional<CounterBatch> unsettled_;  // sent, its COMMIT not known to have happened
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace dnsh
