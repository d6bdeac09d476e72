#include "core/idle_polling.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace dnsh;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or `timeout` passes; whether it held. The cases wait for what
// they assert instead of sleeping a fixed time, which a loaded machine (sanitizers, 2 cores)
// may overrun.
bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
    for (const auto until = Clock::now() + timeout; !done();) {
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// A queue of work items as the scheduler's tables are to its workers: a look takes one item if
// one is due, and a taken item keeps its worker busy with its work. Looks are counted by worker.
class Queue {
public:
    void add(Clock::time_point due = Clock::now()) {
        std::lock_guard<std::mutex> lock(mutex_);
        due_.push_back(due);
    }
    bool take(int worker) {
        std::lock_guard<std::mutex> lock(mutex_);
        looks_[worker]++;
        if (due_.empty() || due_.front() > Clock::now()) return false;
        due_.pop_front();
        taken_.push_back(Clock::now());
        return true;
    }
    int looks() {
        std::lock_guard<std::mutex> lock(mutex_);
        int all = 0;
        for (const auto& [worker, looks] : looks_) all += looks;
        return all;
    }
    std::map<int, int> looksByWorker() {
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
    std::map<int, int> looks_;
};

// Every one of `count` workers has looked once: each is idle from then on (waiting, or the
// lookout) until it is woken or keeps watch.
void requireAllLooked(Queue& queue, int count) {
    REQUIRE(waitFor(10s, [&] { return static_cast<int>(queue.looksByWorker().size()) == count; }));
}

// All idle, and settled: after every worker's first look the lookout looked twice more, so each
// of the others has had an interval to start waiting (and a worker that kept watch before worker
// 0 took it over has handed it back). The next look is an interval away.
void requireSettled(Queue& queue, int count) {
    requireAllLooked(queue, count);
    const int looks = queue.looks();
    REQUIRE(waitFor(30s, [&] { return queue.looks() >= looks + 2; }));
}

std::string describe(const std::map<int, int>& looks) {
    std::string text;
    for (const auto& [worker, count] : looks)
        text += "worker " + std::to_string(worker) + ": " + std::to_string(count) + " ";
    return text;
}

// `count` workers looking in `queue` as dns-scheduler's do (worker 0 keeps looking: it has the
// renewal scans, `scan`, run before each of its looks, unless `firstKeepsLooking` is false),
// each doing `work` with an item it took; `busyMost` the most at once.
struct Workers {
    Workers(IdlePolling& shared, Queue& queue, int count, std::chrono::milliseconds work,
            std::function<void()> scan = {}, bool firstKeepsLooking = true)
        : Workers(shared, queue, count, std::function<void()>([work] {
                      std::this_thread::sleep_for(work);
                  }),
                  std::move(scan), firstKeepsLooking) {}
    Workers(IdlePolling& shared, Queue& queue, int count, std::function<void()> work,
            std::function<void()> scan = {}, bool firstKeepsLooking = true)
        : polling(shared) {
        for (int index = 0; index < count; ++index)
            threads.emplace_back([this, &queue, index, work, scan, firstKeepsLooking] {
                const bool keepsLooking = index == 0 && firstKeepsLooking;
                bool running = true;
                while (running) {
                    if (index == 0 && scan) scan();
                    const bool found = queue.take(index);
                    if (found) {
                        polling.claimed();
                        noteBusy(++busy);
                        work();
                        --busy;
                    }
                    running = polling.next(found, keepsLooking);
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
    constexpr auto interval = 20ms;
    IdlePolling polling(interval);
    Queue queue;
    const auto started = Clock::now();
    Workers workers(polling, queue, 8, 0ms);
    // The lookout (worker 0, which keeps looking) keeps looking: 10 looks, however long a busy
    // machine makes them take. One that stopped looking fails here.
    const bool lookoutLooked = waitFor(30s, [&] { return queue.looksByWorker()[0] >= 10; });
    workers.stop();
    const auto elapsed = Clock::now() - started;
    REQUIRE(lookoutLooked);
    const auto looks = queue.looksByWorker();
    // Each of the others looks once, then waits; one may have kept watch until worker 0 took
    // it over and look a few times more. Every worker looking would give each about 10 looks.
    int othersLookingAgain = 0;
    for (const auto& [worker, count] : looks)
        if (worker != 0 && count > 1) ++othersLookingAgain;
    INFO("looks: " << describe(looks));
    CHECK(othersLookingAgain <= 1);
    // No more than one look an interval: a lookout that does not wait spins.
    CHECK(looks.at(0) <= 2 + elapsed / interval);
}

TEST_CASE("a burst of work reaches every worker at once, not one interval at a time") {
    // One worker an interval (or one worker doing them all) would spread eight items over 7 s;
    // woken by each claim, the workers take them within milliseconds of the first.
    constexpr std::chrono::milliseconds interval = 1s;  // halved below: not whole seconds
    IdlePolling polling(interval);
    Queue queue;
    Workers workers(polling, queue, 8, 1s);
    requireSettled(queue, 8);  // all idle: one lookout, seven waiting
    for (int item = 0; item < 8; ++item) queue.add();
    // The first is taken at the lookout's next look, within an interval.
    REQUIRE(waitFor(30s, [&] { return queue.taken().size() == 8; }));
    const auto taken = queue.taken();
    // Each worker that takes an item wakes one more: all eight busy together.
    CHECK(taken.back() - taken.front() < interval / 2);
    CHECK(workers.busyMost.load() == 8);
}

TEST_CASE("a lookout that finds work hands the watch on: the queue is still looked at") {
    IdlePolling polling(20ms);
    Queue queue;
    // Items keep their workers busy until the case ends. No worker keeps looking of its own
    // accord (worker 0 would): the lookout is the only worker looking, so it takes the first
    // item, and only its handing on can keep the queue looked at.
    std::atomic<bool> holding{true};
    const auto hold = [&] {
        for (const auto until = Clock::now() + 60s; holding && Clock::now() < until;)
            std::this_thread::sleep_for(5ms);
    };
    Workers workers(polling, queue, 4, std::function<void()>(hold), {}, false);
    // Declared after the workers: whatever ends the case lets the held ones go before joining.
    struct LetGo {
        std::atomic<bool>& holding;
        ~LetGo() { holding = false; }
    } letGo{holding};
    requireSettled(queue, 4);
    queue.add();
    REQUIRE(waitFor(10s, [&] { return queue.taken().size() == 1; }));
    // Another idle worker looks every interval meanwhile; without the hand-on nobody looks.
    const int looksAtTake = queue.looks();
    CHECK(waitFor(10s, [&] { return queue.looks() - looksAtTake >= 3; }));
    queue.add();
    // And takes what comes due, while the first worker is still busy.
    CHECK(waitFor(10s, [&] { return queue.taken().size() == 2; }));
    holding = false;
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
    // No look of its own during the case: an interval later would be a minute late.
    IdlePolling polling(60s);
    Queue queue;
    Workers workers(polling, queue, 3, 0ms);
    requireAllLooked(queue, 3);
    const auto due = Clock::now() + 100ms;
    queue.add(due);
    polling.expect(due);
    REQUIRE(waitFor(10s, [&] { return queue.taken().size() == 1; }));
    const auto taken = queue.taken();
    CHECK(taken.front() >= due);
    CHECK(taken.front() - due < 5s);
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
