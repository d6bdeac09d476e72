#include "acme/socket_deadline.hpp"

#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;

// One thread per process, started by the first deadline, shuts down the sockets whose deadline
// has passed. Shutting down under the lock that the destructor takes means a socket is never
// shut down once its owner has let go of it.
class Watcher {
public:
    static Watcher& instance() {
        // Never destroyed: its detached thread may still wait on it while the process exits.
        static Watcher* watcher = new Watcher;
        return *watcher;
    }

    std::mutex lock;

    // `expired` is set, under the lock, when `socket` is shut down.
    void add(Clock::time_point deadline, int socket, bool* expired) {
        std::lock_guard guard(lock);
        const bool earliest = pending_.empty() || deadline < std::get<0>(*pending_.begin());
        pending_.emplace(deadline, socket, expired);
        if (earliest) wake_.notify_one();
    }

    void remove(Clock::time_point deadline, int socket, bool* expired) {
        std::lock_guard guard(lock);
        pending_.erase({deadline, socket, expired});
    }

private:
    Watcher() { std::thread([this] { run(); }).detach(); }

    void run() {
        std::unique_lock guard(lock);
        for (;;) {
            if (pending_.empty()) {
                wake_.wait(guard);
                continue;
            }
            const auto [deadline, socket, expired] = *pending_.begin();
            if (Clock::now() < deadline) {
                wake_.wait_until(guard, deadline);
                continue;
            }
            pending_.erase(pending_.begin());
            ::shutdown(socket, SHUT_RDWR);
            *expired = true;
        }
    }

    std::condition_variable wake_;
    std::set<std::tuple<Clock::time_point, int, bool*>> pending_;
};

}  // namespace

SocketDeadline::SocketDeadline(int socket, Clock::time_point deadline)
    : socket_(socket), deadline_(deadline) {
    Watcher::instance().add(deadline_, socket_, &expired_);
}

SocketDeadline::~SocketDeadline() { Watcher::instance().remove(deadline_, socket_, &expired_); }

bool SocketDeadline::expired() const {
    std::lock_guard guard(Watcher::instance().lock);
    return expired_;
}

}  // namespace dnsh
