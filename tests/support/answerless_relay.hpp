#pragma once
// A UDP relay on a free port of 127.0.0.1 in front of a DNS server: every datagram a client sends
// goes on to the server, every answer of the server's is dropped. A primary that applies RFC 2136
// updates but whose answers never come back in time (a slow commit, a lost return path).
#include <atomic>
#include <thread>

#include "config/server_list.hpp"

namespace dnsh::test {

class AnswerlessRelay {
public:
    // `target`: an IPv4 literal and port. Throws std::runtime_error when a socket cannot be set up.
    explicit AnswerlessRelay(const DnsServer& target);
    ~AnswerlessRelay();
    AnswerlessRelay(const AnswerlessRelay&) = delete;
    AnswerlessRelay& operator=(const AnswerlessRelay&) = delete;

    int port() const { return port_; }
    // Datagrams passed on to the target, and answers of its dropped.
    int forwarded() const { return forwarded_; }
    int dropped() const { return dropped_; }

private:
    void serve();

    int listening_ = -1;  // the clients' side
    int upstream_ = -1;   // connected to the target: its answers arrive here
    int wakeRead_ = -1, wakeWrite_ = -1;
    int port_ = 0;
    std::atomic<int> forwarded_{0}, dropped_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace dnsh::test
