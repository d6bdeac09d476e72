#pragma once
// How a loop that keeps asking PostgreSQL spaces its tries while it cannot be reached
// (dns-scheduler's issuance workers and webhook deliverers; not the metrics flusher, which keeps
// its interval so that the scheduler's heartbeat is back soon, metrics/flusher.hpp):
// the next try `first` after a failure, twice as long after each further one, at most `most`,
// and back to the loop's own pace at the first try that reaches it. Each try opens a connection
// (two when it fails, db/database.cpp): a server refusing us for its connection limit is not
// pressed by every loop of every replica at that loop's own pace. The loop logs nothing of its
// own for it: Database logs the outage (once for it after summarizeDatabaseOutages).
#include <algorithm>
#include <chrono>

namespace dnsh {

// A scheduler worker's, issuance or webhook delivery: its lookout sees the database's return
// within 2 s.
constexpr std::chrono::milliseconds kWorkerUnreachableRetryFirst{100};
constexpr std::chrono::milliseconds kWorkerUnreachableRetryMax{2'000};

class UnreachableBackoff {
public:
    using Clock = std::chrono::steady_clock;

    UnreachableBackoff(std::chrono::milliseconds first, std::chrono::milliseconds most)
        : first_(first), most_(std::max(first, most)) {}

    // A try found the database unreachable (databaseUnreachable): the next one waits.
    void failed() {
        delay_ = delay_.count() == 0 ? first_ : std::min(delay_ * 2, most_);
        nextTry_ = Clock::now() + delay_;
    }
    // A try reached the database: the next failure waits `first` again.
    void reached() { delay_ = {}; }

    // The last try failed (no try has reached the database since).
    bool failing() const { return delay_.count() != 0; }
    // Whether the next try may go: always, unless the last try failed and its wait is not over.
    bool due() const { return Clock::now() >= nextTry_; }

private:
    std::chrono::milliseconds first_;
    std::chrono::milliseconds most_;
    std::chrono::milliseconds delay_{};  // after the last failure; 0 once a try reached it
    Clock::time_point nextTry_{};
};

}  // namespace dnsh
