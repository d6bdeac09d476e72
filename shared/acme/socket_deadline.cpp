#include "acme/socket_deadline.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A descriptor of our own for the same socket: the owner's may be closed before this is destroyed
// (Poco's receiveResponse closes the session when a read fails), and its number reused by another
// thread's socket, which must never be shut down. shutdown(2) acts on the socket, so shutting
// down the copy ends the owner's reads as well.
SocketDeadline::SocketDeadline(int socket, Clock::time_point deadline)
    : socket_(::fcntl(socket, F_DUPFD_CLOEXEC, 0)), deadline_(deadline) {
    if (socket_ < 0) return;  // no descriptor left: the per-wait timeouts still bound the reads
    Watcher::instance().add(deadline_, socket_, &expired_);
}

SocketDeadline::~SocketDeadline() {
    if (socket_ < 0) return;
    Watcher::instance().remove(deadline_, socket_, &expired_);
    ::close(socket_);
}

bool SocketDeadline::expired() const {
    std::lock_guard guard(Watcher::instance().lock);
    return expired_;
}

}  // namespace dnsh
