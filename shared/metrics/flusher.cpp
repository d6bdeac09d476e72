#include "metrics/flusher.hpp"

#include <utility>

#include "core/metric_registry.hpp"
#include "crypto/random.hpp"
#include "log/log.hpp"
#include "metrics/counter_store.hpp"

namespace dnsh {

namespace {

constexpr std::chrono::milliseconds kPollPending{250};
// Many events flush early, but not more often than this.
constexpr std::chrono::seconds kMinInterval{1};

}  // namespace

MetricsFlusher::MetricsFlusher(std::string databaseUrl, DatabaseLimits limits,
                               std::chrono::milliseconds interval, SessionWork eachCycle,
                               SessionWork atStop)
    : databaseUrl_(std::move(databaseUrl)),
      limits_(limits),
      interval_(interval),
      eachCycle_(std::move(eachCycle)),
      atStop_(std::move(atStop)),
      flusherId_(randomHex(8)),
      thread_([this] { run(); }) {}

MetricsFlusher::~MetricsFlusher() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    flush(atStop_);  // what was counted since the last cycle is not lost at exit
}

bool MetricsFlusher::flush(const SessionWork& work) {
    std::vector<CounterDelta> fresh = takeCounterDeltas();
    if (!unsettled_ && fresh.empty() && !work) {
        database_.reset();  // idle: no connection held until there is something to write
        return true;
    }
    // A batch whose COMMIT may have happened (its answer lost) goes again as it was, under its
    // number, never merged with later counts: stored already, it adds nothing. Counts never sent
    // can be put back and go with a later batch. The counts are committed by addToStoredCounters
    // in a transaction of their own: a failure of `work` after it (the scheduler's heartbeat)
    // must not have them added a second time by the next cycle.
    bool stored = false;
    try {
        if (!database_) database_.emplace(databaseUrl_, limits_);
        database_->withSession([&](Poco::Data::Session& session) {
            if (unsettled_) {
                addToStoredCounters(session, *unsettled_);
                unsettled_.reset();
            }
            if (!fresh.empty()) {
                unsettled_.emplace(CounterBatch{flusherId_, ++batchesNumbered_,
                                                std::exchange(fresh, {})});
                addToStoredCounters(session, *unsettled_);
                unsettled_.reset();
            }
            stored = true;
            if (work) work(session);
            return true;
        });
    } catch (const std::exception& e) {
        if (!fresh.empty()) restoreCounterDeltas(fresh);
        database_.reset();
        // Unreachable: Database logged it (in dns-scheduler once for the outage,
        // summarizeDatabaseOutages); a warning here too came at every cycle while it lasted.
        if (databaseUnreachable(e)) return false;
        logEvent(LogLevel::Warn,
                 stored ? "metrics stored, the cycle's other work failed; will retry"
                        : "metrics not stored; will retry",
                 {{"detail", errorDetail(e)}});
    }
    return true;
}

void MetricsFlusher::run() {
    auto lastFlush = std::chrono::steady_clock::now() - interval_;  // the first cycle at once
    // PostgreSQL unreachable: a cycle an interval after the last, never early, and no longer
    // apart: the scheduler's heartbeat is among its work, and a replica whose last beat is 60 s
    // old counts as dead (one connect each 5 s is cheap; a doubling wait made a replica look
    // dead for seconds after the database was back).
    bool unreachable = false;  // the last cycle could not reach PostgreSQL
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        const auto now = std::chrono::steady_clock::now();
        const auto sinceLast = now - lastFlush;
        const bool due = sinceLast >= interval_ ||
                         (!unreachable && sinceLast >= kMinInterval &&
                          pendingCounterEvents() >= kEarlyFlushEvents);
        if (due) {
            lastFlush = now;
            lock.unlock();
            unreachable = !flush(eachCycle_);
            lock.lock();
            continue;
        }
        wake_.wait_for(lock, kPollPending, [this] { return stopping_; });
    }
}

}  // namespace dnsh
