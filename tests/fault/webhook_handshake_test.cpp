// A webhook receiver (or a middlebox) that trickles its TLS handshake, one small chunk every
// 200 ms, holds an attempt no longer than WEBHOOK_TIMEOUT: the attempt's one deadline covers
// connecting and the handshake, not only sending and the answer (acme/deadline_session.hpp, the
// CA's mechanism: ca_handshake_test.cpp). The receiver is tests/node/webhook_receiver.mjs over
// https with the test stack's certificate for 127.0.0.1, which the scheduler trusts through
// SSL_CERT_FILE, behind tests/support/trickle_relay.py.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"
#include "support/trickle_relay.hpp"
#include "support/webhook_receiver.hpp"
#include "support/webhook_stack.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// A scheduler delivering to `url` within 2 s an attempt. The deliverer trusts the system store
// (OpenSSL's default paths), which SSL_CERT_FILE replaces with the stack's certificate.
std::map<std::string, std::string> httpsSchedulerEnv(const WebhookStack& stack,
                                                     const std::string& url) {
    return stack.schedulerEnv({{"WEBHOOK_URL", url},
                               {"WEBHOOK_TIMEOUT", "2s"},
                               {"SSL_CERT_FILE", requireEnv("ACME_CA_BUNDLE")}});
}

std::string eventsOf(const TestDomain& domain) {
    return " FROM webhook_events WHERE domain_id = " + quoted(domain.id);
}

}  // namespace

TEST_CASE("webhook handshake: an https receiver trickling its TLS handshake: the attempt ends by "
          "WEBHOOK_TIMEOUT (2 s), recorded as a timeout") {
    WebhookStack stack;
    WebhookReceiver receiver(stack.secret, ReceiverScheme::Https);
    // The receiver's handshake flight is some 800 bytes: 8 bytes every 200 ms is about 20 s, and
    // no single wait of the deliverer ever goes 200 ms without a byte.
    TrickleRelay relay(receiver.port(), 8, 200ms);
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("hook-tls-trickle", leftovers);
    const auto scheduler = startScheduler(httpsSchedulerEnv(stack, relay.httpsUrl("/hooks")));

    // The deadline cut the handshake: the scheduler left with under half of the receiver's first
    // flight (all of it needed to finish the handshake) relayed to it. Before, the handshake ran
    // to its end (about 20 s, each wait well within its timeout) and the scheduler left only
    // after it. Bytes counted by the relay, not a clock: a loaded machine relays fewer in 2 s,
    // never more. The wait outlasts a whole trickled handshake, so that without the deadline the
    // count is seen, not only a wait that ran out.
    std::optional<long> relayed;
    CHECK(waitFor(40s, [&] { return (relayed = relay.relayedWhenClientLeft()).has_value(); }));
    INFO("relayed to the scheduler when it left: " << relayed.value_or(-1) << "; relay: "
                                                   << describe(relay.process()));
    CHECK(relayed.value_or(100'000) < 400);
    CHECK(relay.connections() >= 1);

    // The attempt's recorded outcome: a timeout, to be tried again (not a refused connection or
    // certificate: the deadline ended it).
    std::string lastError;
    CHECK(waitFor(10s, [&] {
        return !(lastError = scalar("SELECT last_error" + eventsOf(domain))).empty();
    }));
    INFO("last_error: " << lastError);
    CHECK(lastError.rfind("timeout", 0) == 0);
    CHECK(scalar("SELECT state" + eventsOf(domain)) == "pending");
    CHECK(receiver.received().empty());  // cut in the handshake: nothing was sent
}

TEST_CASE("webhook handshake: an https receiver through the relay untrickled: delivered, its "
          "certificate checked after the held-back handshake") {
    WebhookStack stack;
    WebhookReceiver receiver(stack.secret, ReceiverScheme::Https);
    TrickleRelay relay(receiver.port(), 65536, 0ms);
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("hook-tls-relayed", leftovers);
    const auto scheduler = startScheduler(httpsSchedulerEnv(stack, relay.httpsUrl("/hooks")));

    REQUIRE_MESSAGE(waitDelivered(receiver, domain.id, 1, 15s),
                    "last_error: " << scalar("SELECT last_error" + eventsOf(domain)));
    CHECK(receiver.receivedFor(domain.id).front().verified);
    CHECK(waitFor(5s, [&] { return scalar("SELECT state" + eventsOf(domain)) == "delivered"; }));
    CHECK(count("SELECT attempts" + eventsOf(domain)) == 1);
}
