#pragma once
// Workers of one kind in one process, each on its own thread, that take their work from a shared
// queue (a table they claim rows of) and look again after an interval when they found none. Left
// alone, every idle worker looks every interval: eight workers, 80 empty claims a second, each
// waking a thread and a database backend, and as many again from every other replica. Here one
// idle worker, the lookout, looks every interval and the other idle workers wait. A worker that
// claims work stops being the lookout and wakes one waiting worker at once: due work comes in
// bursts (renewals due together, a batch of new domains), so a burst still reaches every worker,
// one claim apart, and the queue is watched while the lookout works (or scans: busy()).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

namespace dnsh {

class IdlePolling {
public:
    explicit IdlePolling(std::chrono::milliseconds interval) : interval_(interval) {}

    // Called by a worker's thread as soon as its look claimed work, before doing it.
    void claimed();
    // Called by a worker's thread before long work of its own that is not a claim (periodic
    // scans that wait on a CA or a DNS server): when it keeps watch (or nobody does), the watch
    // goes to a waiting worker, woken now, so the queue is still looked at meanwhile. Nothing
    // when another worker keeps watch.
    void busy();
    // Called by a worker's thread after each look (and the work it found); returns when the
    // worker is to look again: at once after work; after the interval as the lookout; when woken
    // otherwise. A worker that `keepsLooking` (it has work of its own besides the queue: periodic
    // scans, something to give back) looks every interval whatever the others do, as the
    // lookout. False once stop() was called.
    bool next(bool foundWork, bool keepsLooking = false);
    // Work known to come due at `when` (an order this process put back with a delay): the lookout
    // looks then, not up to an interval later. Times past the next minute are left to the looks.
    void expect(std::chrono::steady_clock::time_point when);
    // Ends every wait, now and later.
    void stop();

private:
    using TimePoint = std::chrono::steady_clock::time_point;
    // As the lookout: until the interval has passed or an expected time has come.
    void watch(std::unique_lock<std::mutex>& lock);
    // A waiting worker, if any is not already being woken, looks next (mutex_ held).
    void wakeOneWaiting();

    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable lookoutWait_;
    std::condition_variable workerWait_;
    std::optional<std::thread::id> lookout_;
    int waiting_ = 0;
    int wakeups_ = 0;  // waiting workers told to look, not yet awake
    bool stopping_ = false;
    std::priority_queue<TimePoint, std::vector<TimePoint>, std::greater<>> expected_;
};

}  // namespace dnsh
