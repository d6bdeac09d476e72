#pragma once
// A unix-socket proxy in front of the test stack's PostgreSQL that loses one answer: the first
// reply from the server containing `dropReplyContaining` (e.g. "INSERT 0 1", which PostgreSQL
// sends only once the statement's implicit transaction has committed) is never passed on, and
// both sides of that connection are closed — the network failing between a COMMIT and its answer.
// Every other byte is relayed unchanged. With an empty `dropReplyContaining` it loses nothing.
// Listening on TCP (127.0.0.1, a free port) it gives clients a TCP connection to the stack's
// PostgreSQL, which listens on a unix socket only: what TCP keepalives apply to.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace dnsh::test {

class PgProxy {
public:
    enum class Listen { UnixSocket, Loopback };
    explicit PgProxy(std::string dropReplyContaining, Listen listen = Listen::UnixSocket);
    ~PgProxy();
    PgProxy(const PgProxy&) = delete;
    PgProxy& operator=(const PgProxy&) = delete;

    // DATABASE_URL with the proxy in place of the server's socket directory (or host and port).
    std::string databaseUrl() const;
    int port() const { return port_; }  // Listen::Loopback: the port it listens on
    int droppedReplies() const { return dropped_; }

private:
    void acceptLoop();
    void relay(int client);

    std::string trigger_;
    std::string directory_;
    std::string serverSocket_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> dropped_{0};
    std::thread acceptor_;
    std::vector<std::thread> relays_;
};

}  // namespace dnsh::test
