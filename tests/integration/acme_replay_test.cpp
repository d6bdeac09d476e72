// A signed POST whose answer is lost is never sent again (RFC 8555 §6.5 nonces make a replay
// look like a new request to the CA: a second order, a second finalize). The CA here is a small
// TLS server of the test's own that answers newNonce and then hangs up on every POST after
// reading it whole: the one fault Pebble cannot be asked to make. The same server, told to,
// reads each request and answers it only after a delay (a CA that hangs, as Pebble's deadlock of
// issue 23 does, past the client's timeout or within it).
// It also keeps the User-Agent of every request it reads (RFC 8555 §6.1). Late answers also show
// a call's budget (acme/call_budget.hpp) shared by its requests.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketStream.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "acme/call_budget.hpp"
#include "acme/transport.hpp"
#include "crypto/keys.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using dnsh::test::requireEnv;

namespace {

// Loopback HTTPS with the test stack's Pebble certificate (valid for 127.0.0.1, trusted through
// ACME_CA_BUNDLE): GET answers 204 with a fresh Replay-Nonce, POST is read and the connection
// closed with no answer.
class AnswerLosingServer {
public:
    enum class Mode { HangUpOnPost, AnswerLate };
    // AnswerLate: every request (a POST's body read) answered 204 `lateBy` after it was read.
    explicit AnswerLosingServer(Mode mode = Mode::HangUpOnPost,
                                std::chrono::milliseconds lateBy = std::chrono::milliseconds(0))
        : mode_(mode),
          lateBy_(lateBy),
          context_(new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE,
                                          requireEnv("DNSH_TEST_DIR") + "/pebble-tls/key.pem",
                                          requireEnv("DNSH_TEST_DIR") + "/pebble-tls/cert.pem", "",
                                          Poco::Net::Context::VERIFY_NONE)),
          socket_(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context_),
          thread_([this] { serve(); }) {}
    ~AnswerLosingServer() {
        stopping_ = true;
        thread_.join();
        socket_.close();
    }
    std::string url(const std::string& path) const {
        return "https://127.0.0.1:" + std::to_string(socket_.address().port()) + path;
    }
    int posts() const { return posts_; }
    int requests() const { return requests_; }
    // "METHOD User-Agent" of every request read, in order ("(none)" when it had none).
    std::vector<std::string> userAgents() const {
        const std::lock_guard lock(mutex_);
        return userAgents_;
    }

private:
    void serve() {
        while (!stopping_) {
            try {
                // Polled, not blocked in accept(): closing a socket does not wake accept().
                if (!socket_.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ))
                    continue;
                Poco::Net::SecureStreamSocket client = socket_.acceptConnection();
                client.setReceiveTimeout(Poco::Timespan(5, 0));
                handle(client);
            } catch (...) {
                // closed by the destructor, or a client that went away
            }
        }
    }
    void handle(Poco::Net::SecureStreamSocket& client) {
        Poco::Net::SocketStream stream(client);
        for (int n = 0;; ++n) {
            Poco::Net::HTTPRequest request;
            request.read(stream);
            {
                const std::lock_guard lock(mutex_);
                userAgents_.push_back(request.getMethod() + " " +
                                      request.get("User-Agent", "(none)"));
            }
            if (mode_ == Mode::AnswerLate) {
                ++requests_;
                // No Content-Length (a GET): -1.
                const std::streamsize length = std::max<std::streamsize>(
                    0, request.getContentLength());
                std::string body(static_cast<std::size_t>(length), '\0');
                stream.read(body.data(), static_cast<std::streamsize>(body.size()));
                const auto due = std::chrono::steady_clock::now() + lateBy_;
                while (!stopping_ && std::chrono::steady_clock::now() < due)
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                if (stopping_) return;
            } else if (request.getMethod() == "POST") {
                std::string body(static_cast<std::size_t>(request.getContentLength()), '\0');
                stream.read(body.data(), static_cast<std::streamsize>(body.size()));
                ++posts_;
                client.close();  // read whole, answered never
                return;
            }
            Poco::Net::HTTPResponse response(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
            response.set("Replay-Nonce", "nonce-" + std::to_string(n));
            response.setKeepAlive(true);
            response.write(stream);
            stream.flush();
        }
    }

    Mode mode_;
    std::chrono::milliseconds lateBy_;
    Poco::Net::Context::Ptr context_;
    Poco::Net::SecureServerSocket socket_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> posts_{0};
    std::atomic<int> requests_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> userAgents_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("transport: a signed POST whose answer is lost is sent once, a POST-as-GET again") {
    struct Case {
        std::string description;
        std::string payload;
        int expectedPosts;
        bool outcomeUnknown;
    };
    const std::vector<Case> cases{
        {"newOrder-like payload: never replayed", R"({"identifiers":[]})", 1, true},
        {"POST-as-GET (empty payload): read again once on a fresh connection", "", 2, false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        AnswerLosingServer server;
        acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(5));
        transport.setNewNonceUrl(server.url("/nonce"));
        const Pkey key = generateEcdsaP256Key();
        bool threw = false;
        try {
            transport.post(server.url("/order"), c.payload, key.get(), std::string("kid"));
        } catch (const acme::AcmeError& e) {
            threw = true;
            CHECK(e.unreachable());
            CHECK(e.retryable());  // the step comes back later and reads the CA's state first
            CHECK(e.outcomeUnknown() == c.outcomeUnknown);
        }
        CHECK(threw);
        CHECK(server.posts() == c.expectedPosts);
    }
}

TEST_CASE("transport: a CA that answers past the timeout fails the call, one that answers "
          "within it does not") {
    // Poco's TLS socket waits twice per read (SO_RCVTIMEO, then poll): with the whole timeout on
    // the session a 2 s transport gave up after 4 s, and the 30 s one of the issuer after 60 s.
    // Told apart by what the call returns, not by timing it: an answer after 1.75x the timeout
    // is taken by a client that waits twice it, and one after 0.6x of it is lost to a client
    // whose deadline is cut short (half of it).
    struct Case {
        std::string description;
        bool post;
        std::chrono::milliseconds timeout;
        std::chrono::milliseconds lateBy;
        bool fails;
    };
    using std::chrono::milliseconds;
    for (const auto& c : std::vector<Case>{
             {"GET (directory, newNonce) answered after 3.5 s of 2", false, milliseconds(2000),
              milliseconds(3500), true},
             {"signed POST (its newNonce first) answered after 3.5 s of 2", true,
              milliseconds(2000), milliseconds(3500), true},
             {"GET answered after 2.5 s of 4", false, milliseconds(4000), milliseconds(2500),
              false}}) {
        CAPTURE(c.description);
        AnswerLosingServer server(AnswerLosingServer::Mode::AnswerLate, c.lateBy);
        acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), c.timeout);
        transport.setNewNonceUrl(server.url("/nonce"));
        const Pkey key = generateEcdsaP256Key();
        bool threw = false;
        try {
            if (c.post)
                transport.post(server.url("/order"), R"({"identifiers":[]})", key.get(),
                               std::string("kid"));
            else
                transport.get(server.url("/dir"));
        } catch (const acme::AcmeError& e) {
            threw = true;
            CHECK(e.unreachable());
            CHECK(e.retryable());
        }
        CHECK(threw == c.fails);
        CHECK(server.requests() == 1 + (c.post && !c.fails ? 1 : 0));  // a timeout: no retry
    }
}

TEST_CASE("transport: every request names the product and its version in User-Agent") {
    // RFC 8555 §6.1: ACME clients MUST send a User-Agent. Pebble 2.10 answers any request without
    // one with `malformed`. Captured here for each kind of request the transport sends: a GET
    // (directory), the newNonce GET, and signed POSTs (a payload, and a POST-as-GET read again).
    AnswerLosingServer server;
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(5));
    transport.setNewNonceUrl(server.url("/nonce"));
    const Pkey key = generateEcdsaP256Key();
    transport.get(server.url("/dir"));
    for (const char* payload : {R"({"identifiers":[]})", ""}) {
        try {
            transport.post(server.url("/order"), payload, key.get(), std::string("kid"));
        } catch (const acme::AcmeError&) {
            // the server hangs up on every POST; what was sent is what counts here
        }
    }
    const std::regex expected(R"((GET|POST) dns-handling/[0-9]+\.[0-9]+\.[0-9]+)");
    const std::vector<std::string> seen = server.userAgents();
    int gets = 0, posts = 0;
    for (const auto& line : seen) {
        CAPTURE(line);
        CHECK(std::regex_match(line, expected));
        CHECK(line.substr(line.find(' ') + 1) == acme::userAgent());
        (line.starts_with("GET") ? gets : posts) += 1;
    }
    CHECK(gets >= 2);   // the directory and at least one newNonce
    CHECK(posts == 3);  // the order once, the POST-as-GET twice
}

TEST_CASE("transport: under a call budget each request gets what is left of it, and none is "
          "sent once it is spent") {
    // issue-certificate's budget at the CAs (acme/call_budget.hpp): a 2.5 s budget over a 10 s
    // request timeout, every answer 1.5 s late. The first request is answered within it; the
    // second is given the less than 1 s left, so the answer comes too late for it; the third
    // is not sent. Told apart by outcomes and by what the server read, not by timing.
    using std::chrono::milliseconds;
    AnswerLosingServer server(AnswerLosingServer::Mode::AnswerLate, milliseconds(1500));
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(10));
    acme::CallBudget budget(milliseconds(2500));
    transport.setCallBudget(&budget);
    std::vector<milliseconds> given;  // each request's budget, as the hook before it saw it
    transport.setBeforeEachRequest([&given](milliseconds each) { given.push_back(each); });

    transport.get(server.url("/dir"));
    std::vector<std::string> details;
    for (int i = 0; i < 2; ++i) {
        try {
            transport.get(server.url("/dir"));
            FAIL("a request past the budget was answered");
        } catch (const acme::AcmeError& e) {
            CHECK(e.unreachable());  // passed over and answered as a CA that did not answer
            CHECK(e.retryable());
            CHECK_FALSE(e.outcomeUnknown());
            details.push_back(e.problem().detail);
        }
    }
    CHECK(budget.spent());
    CHECK(server.requests() == 2);  // the third was not sent
    REQUIRE(given.size() == 2);     // nor was the hook run for it
    CHECK(given[0] == milliseconds(2500));
    CHECK(given[1] <= milliseconds(1000));
    REQUIRE(details.size() == 2);
    CHECK(details[0].find("the last of this call's 2500ms at the CAs") != std::string::npos);
    CHECK(details[1].find("not sent") != std::string::npos);

    // Without the budget, each request has the whole timeout again.
    transport.setCallBudget(nullptr);
    transport.get(server.url("/dir"));
    REQUIRE(given.size() == 3);
    CHECK(given[2] == std::chrono::seconds(10));
}

TEST_CASE("transport: under a call budget a request that may not be sent twice goes only with its "
          "whole timeout left, a read with what is left") {
    // Cut by the budget once written, a newOrder's outcome would be unknown: an order the CA
    // made and counted, never seen. Not sent, it is known (no lost answer). A POST-as-GET read
    // (RFC 8555 §6.3) may be sent again, so it goes with what is left. The budget is spent by
    // hand down to 1.5 s, under the 2 s request timeout; the server answers at once.
    using std::chrono::milliseconds;
    AnswerLosingServer server(AnswerLosingServer::Mode::AnswerLate, milliseconds(0));
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(2));
    transport.setNewNonceUrl(server.url("/nonce"));
    acme::CallBudget budget(milliseconds(3000));
    budget.spend(milliseconds(1500));
    transport.setCallBudget(&budget);
    const Pkey key = generateEcdsaP256Key();

    transport.post(server.url("/authz/1"), "", key.get(), std::string("kid"));  // a read: sent
    const int readSent = server.requests();
    CHECK(readSent >= 1);
    try {
        transport.post(server.url("/order"), R"({"identifiers":[]})", key.get(),
                       std::string("kid"));
        FAIL("a POST that may not be sent twice went with less than its timeout left");
    } catch (const acme::AcmeError& e) {
        CHECK(e.unreachable());
        CHECK_FALSE(e.outcomeUnknown());
        CHECK(e.problem().detail.find("not sent") != std::string::npos);
    }
    CHECK(server.requests() == readSent);  // nothing more reached the server
    CHECK(budget.anyRequestCut());
}
