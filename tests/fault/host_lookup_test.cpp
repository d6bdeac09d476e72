// A resolver that never answers holds a CA request or a webhook attempt no longer than its
// budget: the host name's lookup is inside the exchange's deadline (acme/host_lookup.hpp), not
// left to getaddrinfo's own bound (resolv.conf's timeout x attempts x nameservers, 30 s with
// the defaults). The case's process gets a mount namespace of its own whose /etc/resolv.conf
// names one nameserver, a UDP socket on port 53 of a loopback address of the case's own
// (127.53.x.y: a resolver of the machine's on 127.0.0.1:53 is left alone) that reads nothing and
// answers nothing.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include "acme/deadline_session.hpp"
#include "acme/transport.hpp"
#include "support/own_resolv_conf.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// resolv.conf's own bound on one lookup here: one attempt of 8 s at the one nameserver.
constexpr auto kResolverGivesUpAfter = 8s;

// A nameserver that never answers: queries wait in its socket's buffer, unread.
class SilentNameserver {
public:
    SilentNameserver() : socket_(::socket(AF_INET, SOCK_DGRAM, 0)) {
        REQUIRE(socket_ >= 0);
        const unsigned pid = static_cast<unsigned>(::getpid());
        address_ = "127.53." + std::to_string(pid / 250 % 250 + 1) + "." +
                   std::to_string(pid % 250 + 1);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(53);  // resolv.conf names no port
        REQUIRE(::inet_pton(AF_INET, address_.c_str(), &address.sin_addr) == 1);
        REQUIRE_MESSAGE(
            ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0,
            "cannot bind " << address_ << ":53 (needs root): " << std::strerror(errno));
    }
    ~SilentNameserver() { ::close(socket_); }
    SilentNameserver(const SilentNameserver&) = delete;
    SilentNameserver& operator=(const SilentNameserver&) = delete;

    // The queries that reached it so far (read now, without waiting).
    int queries() {
        int count = 0;
        char datagram[512];
        while (::recv(socket_, datagram, sizeof datagram, MSG_DONTWAIT) > 0) ++count;
        return count;
    }

    const std::string& address() const { return address_; }

private:
    int socket_;
    std::string address_;
};

// This process alone sees a resolv.conf that names only `nameserver`. glibc reads resolv.conf
// only for the `dns` source of nsswitch.conf's hosts line (nss-resolve or nscd would answer
// without it).
void resolveOnlyThrough(const SilentNameserver& nameserver) {
    std::ifstream nsswitch("/etc/nsswitch.conf");
    std::string line;
    std::string hosts;
    while (std::getline(nsswitch, line))
        if (line.rfind("hosts:", 0) == 0) hosts = line;
    const bool plainDns =
        hosts.find("dns") != std::string::npos && hosts.find("resolve") == std::string::npos;
    REQUIRE_MESSAGE(plainDns,
                    "cannot run: nsswitch.conf's hosts line asks no plain dns: " << hosts);
    useOwnResolvConf("nameserver " + nameserver.address() + "\noptions timeout:" +
                     std::to_string(kResolverGivesUpAfter.count()) + " attempts:1\n");
}

double secondsSince(Clock::time_point started) {
    return std::chrono::duration<double>(Clock::now() - started).count();
}

}  // namespace

TEST_CASE("host lookup: a CA whose name a silent resolver never answers fails a 2 s request "
          "after 2 s, as a timeout") {
    SilentNameserver nameserver;
    resolveOnlyThrough(nameserver);
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), 2s);
    const auto started = Clock::now();
    bool threw = false;
    try {
        transport.get("https://ca.unanswered.test:14000/dir");
    } catch (const acme::AcmeError& e) {
        threw = true;
        INFO(e.what());
        // What a CA that never answers gets (ca_handshake_test): unreachable, tried again later.
        CHECK(e.unreachable());
        CHECK(e.retryable());
        // The lookup's own deadline ended it (acme/host_lookup.cpp), not the resolver giving
        // up ("Temporary DNS error", 8 s later, before).
        CHECK(e.problem().detail.find("no address for ca.unanswered.test in time") !=
              std::string::npos);
    }
    const double seconds = secondsSince(started);
    INFO("the request returned after " << seconds << " s");
    CHECK(threw);
    CHECK(nameserver.queries() > 0);  // the lookup reached the silent nameserver
}

TEST_CASE("host lookup: a webhook receiver's name unanswered ends the attempt at its deadline") {
    SilentNameserver nameserver;
    resolveOnlyThrough(nameserver);
    // Webhook delivery's session (events/webhook_delivery.cpp), plain http.
    HttpDeadlineSession session("hooks.unanswered.test", 8080);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentLength(0);
    const auto started = Clock::now();
    std::string failure;
    {
        ExchangeDeadline deadline(session, started + 1s);
        try {
            session.sendRequest(request);
        } catch (const Poco::TimeoutException& e) {
            failure = e.displayText();
        } catch (const Poco::Exception& e) {
            failure = "not a timeout: " + e.displayText();
        }
    }
    const double seconds = secondsSince(started);
    INFO("sendRequest returned after " << seconds << " s: " << failure);
    // The lookup's deadline, not the resolver giving up ("DNS error: Temporary DNS error", 8 s
    // later, before).
    CHECK(failure == "Timeout: no address for hooks.unanswered.test in time");
    CHECK(nameserver.queries() > 0);
    // The name is kept for the next connection and the Host header; the session connects to the
    // address it looks up.
    CHECK(request.getHost() == "hooks.unanswered.test:8080");
}
