#pragma once
// A deadline for everything read from one connection. Poco bounds each wait on a socket, not an
// exchange: a peer sending one byte of its headers per wait would hold the caller for as long as
// it likes (Poco reads the status line and headers itself, with no hook between its reads). At
// its deadline the connection is shut down (shutdown(2), SHUT_RDWR) from a watcher thread, which
// ends whatever read or write is waiting on it; the owner then sees an error and `expired()`.
#include <chrono>

namespace dnsh {

class SocketDeadline {
public:
    // `socket`: a connected socket's descriptor (duplicated: its owner may close it first).
    SocketDeadline(int socket, std::chrono::steady_clock::time_point deadline);
    // After it returns the socket is never shut down by this deadline (it may then be closed and
    // its number reused).
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;

    // Whether the deadline passed and the connection was shut down.
    bool expired() const;

private:
    int socket_;  // our own descriptor of the socket, -1 when none could be made
    std::chrono::steady_clock::time_point deadline_;
    bool expired_ = false;  // written and read under the watcher's lock
};

}  // namespace dnsh
