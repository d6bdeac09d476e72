#pragma once
// Authoritative nameservers a test plays itself, on port 53 (UDP and TCP) of loopback addresses
// (the zones silent-zone.test and played-zone.test of deploy/test name them in their NS records).
// Silent: every query is read and counted, none is answered (a blackholed server; TCP connections
// are accepted and held open). Playing: each query gets the records the test's function gives,
// so a test can answer as a server it cannot otherwise run would (say, with owner names in the
// case of its own zone data instead of the question's), over UDP and TCP alike or with a TXT
// answer too big for UDP (Transport). One thread serves every address.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
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

    // How a playing server answers over UDP and over TCP.
    enum class Transport {
        Same,       // the same answer over both
        Truncated,  // a TXT question over UDP: TC set and no records (the answer does not fit),
                    // so the client asks again over TCP, which answers in full
        CutShort,   // a TXT question over UDP: TC set, the header counting every record and
                    // the datagram cut in the middle of the last one (a server truncating at
                    // its byte limit, RFC 1035 §4.1.1); over TCP the answer in full
        Trickled,   // UDP as Truncated; over TCP, once the question is read, a length of 65535
                    // and then one byte every kTrickleInterval, until the client closes the
                    // connection (or kTrickleFor has passed: the server closes it)
    };
    static constexpr std::chrono::milliseconds kTrickleInterval{500};
    static constexpr std::chrono::seconds kTrickleFor{20};

    // Binds every address (IPv4 literals) on port 53, UDP and TCP; throws std::runtime_error
    // naming the address when one cannot be bound. Without `answer`: silent.
    explicit FakeNameservers(const std::vector<std::string>& addresses, Answer answer = {},
                             Transport transport = Transport::Same);
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
        // Transport::Trickled, once the question is read: when the next byte goes, and when the
        // server gives up.
        std::optional<std::chrono::steady_clock::time_point> nextByte, trickleEnd;
    };
    void serve();
    void count(const std::string& address);
    // The wire answer to `query` ("" for none); `overUdp`: as Transport says for UDP.
    std::string respond(const std::string& query, bool overUdp) const;
    // Transport::Trickled: the bytes due on every trickling connection; the wait (ms) until the
    // next one is due, at most `longest`.
    int trickle(int longest);

    Answer answer_;
    Transport transport_ = Transport::Same;
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
