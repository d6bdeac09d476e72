#pragma once
// Authoritative nameservers a test plays itself, on port 53 (UDP and TCP) of loopback addresses
// (the zones silent-zone.test and played-zone.test of deploy/test name them in their NS records).
// Silent: every query is read and counted, none is answered (a blackholed server; TCP connections
// are accepted and held open). Playing: each query gets the records the test's function gives,
// so a test can answer as a server it cannot otherwise run would (say, with owner names in the
// case of its own zone data instead of the question's). One thread serves every address.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dnsh::test {

class FakeNameservers {
public:
    // The answer records for a question, each in zone-file form ("owner. 0 IN TXT \"v\""); an
    // empty list answers NOERROR with no records.
    using Answer = std::function<std::vector<std::string>(const std::string& qname,
                                                          const std::string& qtype)>;

    // Binds every address (IPv4 literals) on port 53, UDP and TCP; throws std::runtime_error
    // naming the address when one cannot be bound. Without `answer`: silent.
    explicit FakeNameservers(const std::vector<std::string>& addresses, Answer answer = {});
    ~FakeNameservers();
    FakeNameservers(const FakeNameservers&) = delete;
    FakeNameservers& operator=(const FakeNameservers&) = delete;

    // Datagrams and TCP connections received, in all and by address.
    int queries() const;
    std::set<std::string> addressesQueried() const;

private:
    struct Socket {
        int fd = -1;
        std::string address;
        enum class Kind { Udp, TcpListener, TcpConnection } kind = Kind::Udp;
        std::string pending;  // TCP: bytes read and not yet answered
    };
    void serve();
    void count(const std::string& address);
    std::string respond(const std::string& query) const;

    Answer answer_;
    std::vector<Socket> sockets_;
    mutable std::mutex mutex_;
    std::map<std::string, int> queries_;
    std::atomic<bool> stopping_{false};
    int wakeRead_ = -1, wakeWrite_ = -1;
    std::thread thread_;
};

// "a,b,c" -> {"a","b","c"}.
std::vector<std::string> splitList(const std::string& text);

}  // namespace dnsh::test
