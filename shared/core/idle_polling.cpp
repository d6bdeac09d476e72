#include "core/idle_polling.hpp"

namespace dnsh {

namespace {

constexpr std::chrono::minutes kExpectedHorizon{1};
constexpr std::size_t kMaxExpected = 10'000;

}  // namespace

void IdlePolling::claimed() {
    std::lock_guard<std::mutex> lock(mutex_);
    // Busy now: the next worker to find nothing becomes the lookout.
    if (lookout_ == std::this_thread::get_id()) lookout_.reset();
    wakeOneWaiting();
}

void IdlePolling::busy() {
    std::lock_guard<std::mutex> lock(mutex_);
    // Another worker keeps watch: nothing changes.
    if (lookout_ && lookout_ != std::this_thread::get_id()) return;
    lookout_.reset();
    wakeOneWaiting();
}

void IdlePolling::wakeOneWaiting() {
    if (waiting_ > wakeups_) {
        ++wakeups_;
        workerWait_.notify_one();
    }
}

bool IdlePolling::next(bool foundWork, bool keepsLooking) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (foundWork) return !stopping_;
    // Nobody looks but the workers that are busy: this one keeps watch. A worker that keeps
    // looking takes the watch over; the lookout before it waits after its next empty look.
    const auto self = std::this_thread::get_id();
    if (keepsLooking || !lookout_ || lookout_ == self) {
        lookout_ = self;
        watch(lock);
        return !stopping_;
    }
    ++waiting_;
    workerWait_.wait(lock, [this] { return stopping_ || wakeups_ > 0; });
    --waiting_;
    if (wakeups_ > 0) --wakeups_;
    return !stopping_;
}

void IdlePolling::watch(std::unique_lock<std::mutex>& lock) {
    const TimePoint deadline = std::chrono::steady_clock::now() + interval_;
    while (!stopping_) {
        const TimePoint now = std::chrono::steady_clock::now();
        if (!expected_.empty() && expected_.top() <= now) {
            while (!expected_.empty() && expected_.top() <= now) expected_.pop();
            return;
        }
        if (now >= deadline) return;
        const TimePoint until = expected_.empty() ? deadline : std::min(deadline, expected_.top());
        lookoutWait_.wait_until(lock, until);
    }
}

void IdlePolling::expect(TimePoint when) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (when > std::chrono::steady_clock::now() + kExpectedHorizon) return;
    if (expected_.size() >= kMaxExpected) return;
    // Only a time before every other one changes how long the lookout waits.
    const bool earliest = expected_.empty() || when < expected_.top();
    expected_.push(when);
    if (earliest) lookoutWait_.notify_all();
}

void IdlePolling::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    lookoutWait_.notify_all();
    workerWait_.notify_all();
}

}  // namespace dnsh
