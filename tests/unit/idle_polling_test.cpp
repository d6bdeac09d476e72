#include "core/idle_polling.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

using namespace dnsh;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A queue of work items as the scheduler's tables are to its workers: a look takes one item if
// one is due, and a taken item keeps its worker busy for `work`.
class Queue {
public:
    void add(Clock::time_point due = Clock::now()) {
        std::lock_guard<std::mutex> lock(mutex_);
        due_.push_back(due);
    }
    bool take() {
        std::lock_guard<std::mutex> lock(mutex_);
        looks_++;
        if (due_.empty() || due_.front() > Clock::now()) return false;
        due_.pop_front();
        taken_.push_back(Clock::now());
        return true;
    }
    int looks() {
        std::lock_guard<std::mutex> lock(mutex_);
        return looks_;
    }
    std::vector<Clock::time_point> taken() {
        std::lock_guard<std::mutex> lock(mutex_);
        return taken_;
    }

private:
    std::mutex mutex_;
    std::deque<Clock::time_point> due_;
    std::vector<Clock::time_point> taken_;
    int looks_ = 0;
};

// `count` workers looking in `queue` as dns-scheduler's do (worker 0 keeps looking: it has the
// renewal scans, `scan`, run before each of its looks), each busy for `work` with an item it
// took; `busyMost` the most at once.
struct Workers {
    Workers(IdlePolling& shared, Queue& queue, int count, std::chrono::milliseconds work,
            std::function<void()> scan = {})
        : polling(shared) {
        for (int index = 0; index < count; ++index)
            threads.emplace_back([this, &queue, index, work, scan] {
                bool running = true;
                while (running) {
                    if (index == 0 && scan) scan();
                    const bool found = queue.take();
                    if (found) {
                        polling.claimed();
                        noteBusy(++busy);
                        std::this_thread::sleep_for(work);
                        --busy;
                    }
                    running = polling.next(found, index == 0);
                }
            });
    }
    ~Workers() { stop(); }
    void noteBusy(int now) {
        int most = busyMost;
        while (now > most && !busyMost.compare_exchange_weak(most, now)) {
        }
    }
    void stop() {
        polling.stop();
        for (auto& thread : threads)
            if (thread.joinable()) thread.join();
    }

    IdlePolling& polling;
    std::atomic<int> busy{0};
    std::atomic<int> busyMost{0};
    std::vector<std::thread> threads;
};

}  // namespace

TEST_CASE("idle workers: one looks every interval, the other seven wait") {
    IdlePolling polling(20ms);
    Queue queue;
    Workers workers(polling, queue, 8, 0ms);
    std::this_thread::sleep_for(500ms);
    workers.stop();
    // Each worker's first look and the lookout's 25 intervals (at least 10 of them on a busy
    // machine); every worker looking would make about 200.
    CHECK(queue.looks() >= 8 + 10);
    CHECK(queue.looks() <= 8 + 2 * 25);
}

TEST_CASE("a burst of work reaches every worker at once, not one interval at a time") {
    IdlePolling polling(20ms);
    Queue queue;
    Workers workers(polling, queue, 8, 300ms);
    std::this_thread::sleep_for(100ms);  // all idle: one lookout, seven waiting
    const auto added = Clock::now();
    for (int item = 0; item < 8; ++item) queue.add();
    std::this_thread::sleep_for(250ms);
    // Each worker that takes an item wakes one more: all eight busy together within a look.
    CHECK(workers.busyMost.load() == 8);
    const auto taken = queue.taken();
    REQUIRE(taken.size() == 8);
    CHECK(taken.back() - added < 100ms);
}

TEST_CASE("a lookout that finds work hands the watch on: the queue is still looked at") {
    IdlePolling polling(20ms);
    Queue queue;
    // One item that keeps its worker, the lookout, busy for the whole case.
    Workers workers(polling, queue, 4, 1s);
    std::this_thread::sleep_for(50ms);
    queue.add();
    std::this_thread::sleep_for(100ms);
    const int looksBefore = queue.looks();
    std::this_thread::sleep_for(200ms);
    // Another idle worker looks every interval meanwhile and takes what comes due.
    CHECK(queue.looks() - looksBefore >= 3);
    queue.add();
    std::this_thread::sleep_for(100ms);
    CHECK(queue.taken().size() == 2);
    workers.stop();
}

TEST_CASE("a lookout that goes busy with a long scan of its own wakes another worker to look") {
    IdlePolling polling(20ms);
    Queue queue;
    // Worker 0's scans, as dns-scheduler's worker 0 runs them before its look: quick, but once
    // the case says so, one that lasts until the item is taken (5 s at most): a CA or DNS server
    // that does not answer. Taken while it lasts only if another worker looked meanwhile.
    std::atomic<bool> slowScan{false}, scanning{false}, scanEnded{false}, takenDuringScan{false};
    Workers workers(polling, queue, 4, 0ms, [&] {
        if (!slowScan.exchange(false)) return;
        polling.busy();
        scanning = true;
        const auto until = Clock::now() + 5s;
        while (queue.taken().empty() && Clock::now() < until) std::this_thread::sleep_for(5ms);
        takenDuringScan = !queue.taken().empty();
        scanEnded = true;
    });
    std::this_thread::sleep_for(100ms);  // idle: worker 0 keeps the watch, the others wait
    slowScan = true;
    const auto waitUntil = [](const std::atomic<bool>& flag) {
        for (const auto until = Clock::now() + 10s; !flag && Clock::now() < until;)
            std::this_thread::sleep_for(5ms);
        return flag.load();
    };
    REQUIRE(waitUntil(scanning));
    queue.add();
    REQUIRE(waitUntil(scanEnded));
    // Before, the others slept until worker 0's scan ended: the item waited for all of it.
    CHECK(takenDuringScan);
    workers.stop();
}

TEST_CASE("work expected at a time is looked for then, not an interval later") {
    IdlePolling polling(10s);  // no look of its own during the case
    Queue queue;
    Workers workers(polling, queue, 3, 0ms);
    std::this_thread::sleep_for(50ms);
    const auto due = Clock::now() + 100ms;
    queue.add(due);
    polling.expect(due);
    std::this_thread::sleep_for(400ms);
    const auto taken = queue.taken();
    REQUIRE(taken.size() == 1);
    CHECK(taken.front() >= due);
    CHECK(taken.front() - due < 200ms);
    workers.stop();
}

TEST_CASE("stop ends every wait at once") {
    IdlePolling polling(1h);
    Queue queue;
    Workers workers(polling, queue, 8, 0ms);
    std::this_thread::sleep_for(50ms);
    const auto asked = Clock::now();
    workers.stop();
    CHECK(Clock::now() - asked < 1s);
}
