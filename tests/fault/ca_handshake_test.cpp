// A CA (or a middlebox) that trickles its TLS handshake, one small chunk every 200 ms, holds a
// request no longer than its budget: the deadline of a request covers connecting, the handshake
// and sending, not only the answer (acme/deadline_session.hpp). The CA is the stand-in
// tests/support/stalled_ca.py, which the client trusts through ACME_CA_BUNDLE, behind
// tests/support/trickle_relay.py. A signed POST that failed before any of it was written (the
// handshake cut, the connection refused) was never sent: no lost answer, its outcome known.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "acme/transport.hpp"
#include "crypto/keys.hpp"
#include "support/domain_flows.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"
#include "support/trickle_relay.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A newOrder-like signed POST (a payload: never sent twice) to `url` through `transport`: its
// error, after checking that it is one of a CA not reached and not a lost answer.
void checkNeverSent(acme::Transport& transport, const std::string& url) {
    const Pkey key = generateEcdsaP256Key();
    try {
        transport.post(url, R"({"identifiers":[]})", key.get(), std::string("kid"));
        FAIL("the POST was answered");
    } catch (const acme::AcmeError& e) {
        INFO(e.what());
        CHECK(e.unreachable());
        CHECK(e.retryable());
        // Before: "the CA's answer was lost" with outcomeUnknown, so a newOrder never sent kept
        // its order budget token spent (issuance/ca_fallback.cpp's caMayHoldTheOrder).
        CHECK_FALSE(e.outcomeUnknown());
        CHECK(e.problem().detail.find("answer was lost") == std::string::npos);
    }
}

}  // namespace

TEST_CASE("CA handshake: a TLS handshake trickled in fails a 2 s request after 2 s, as a timeout") {
    StalledCa ca({"--stall", "none"});
    // The stand-in's handshake flight is some 800 bytes: 8 bytes every 200 ms is about 20 s,
    // and no single wait of the client ever goes 200 ms without a byte.
    TrickleRelay relay(ca.port(), 8, 200ms);
    const auto budget = 2s;
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), budget);
    const auto started = Clock::now();
    bool threw = false;
    try {
        transport.get(relay.httpsUrl("/dir"));
    } catch (const acme::AcmeError& e) {
        threw = true;
        INFO(e.what());
        // What a CA that never answers gets (the transport tests): unreachable, tried again
        // later, and not sent again now (a stuck CA is not asked twice in one budget).
        CHECK(e.unreachable());
        CHECK(e.retryable());
        CHECK_FALSE(e.outcomeUnknown());
        CHECK(e.problem().detail.find("Timeout") != std::string::npos);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    INFO("the request returned after " << seconds << " s; relay: " << describe(relay.process()));
    CHECK(threw);
    // The deadline cut the handshake: the client left with under half of the CA's first flight
    // (some 800 bytes, all needed to finish the handshake) relayed to it. Before, the handshake
    // ran to its end (about 20 s, each wait well within its timeout) and the client left only
    // after it, during the CA's session tickets. Bytes counted by the relay, not a clock: a
    // loaded machine relays fewer in 2 s, never more. The relay sees the client gone at its next
    // chunk (200 ms): a bounded wait.
    std::optional<long> relayed;
    CHECK(waitFor(5s, [&] { return (relayed = relay.relayedWhenClientLeft()).has_value(); }));
    INFO("relayed to the client when it left: " << relayed.value_or(-1));
    CHECK(relayed.value_or(100'000) < 400);
    CHECK(seconds >= 1.7);  // the deadline ended it, not a broken relay or certificate
    CHECK(relay.connections() == 1);
    CHECK(ca.requests("GET", "/dir") == 0);  // cut in the handshake: nothing was sent
}

TEST_CASE("CA handshake: through the relay untrickled, requests succeed and share a connection "
          "that outlives the first one's deadline") {
    StalledCa ca({"--stall", "none"});
    TrickleRelay relay(ca.port(), 65536, 0ms);
    const auto budget = 2s;
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), budget);
    CHECK(transport.get(relay.httpsUrl("/dir")).status == 200);
    // Past the first request's deadline, within the 5 s a connection is kept idle: a deadline
    // left armed would have shut the kept-alive connection down, and the next one reconnect.
    std::this_thread::sleep_for(budget + 500ms);
    CHECK(transport.get(relay.httpsUrl("/dir")).status == 200);
    INFO(describe(relay.process()));
    CHECK(relay.connections() == 1);
    CHECK(ca.requests("GET", "/dir") == 2);
}

TEST_CASE("CA handshake: a signed POST cut in its TLS handshake was never sent: unreachable, "
          "not a lost answer") {
    StalledCa ca({"--stall", "none"});
    TrickleRelay relay(ca.port(), 8, 200ms);
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), 2s);
    // The nonce straight from the stand-in, the POST through the relay, whose handshake the
    // deadline cuts.
    transport.setNewNonceUrl("https://127.0.0.1:" + std::to_string(ca.port()) + "/nonce");
    checkNeverSent(transport, relay.httpsUrl("/order-plz"));
    INFO(describe(ca.process()) << "\n" << describe(relay.process()));
    CHECK(ca.requests("GET", "/nonce") == 1);
    CHECK(ca.requests("POST", "/") == 0);
}

TEST_CASE("CA handshake: a signed POST to a port that refuses the connection was never sent: "
          "unreachable, not a lost answer") {
    StalledCa ca({"--stall", "none"});
    acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), 2s);
    transport.setNewNonceUrl("https://127.0.0.1:" + std::to_string(ca.port()) + "/nonce");
    // The discard port, where nothing listens (acme_client_test's unreachable CA).
    checkNeverSent(transport, "https://127.0.0.1:9/order-plz");
    CHECK(ca.requests("GET", "/nonce") == 1);
}
