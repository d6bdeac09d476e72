// The client's nonce pool (acme/transport.hpp) at a CA that expires nonces, the stand-in CA
// tests/support/stalled_ca.py --fresh-nonces N: a POST not signed with one of the N newest nonces
// it issued is answered badNonce (RFC 8555 §6.5), and every answer carries a nonce, its GETs'
// too (§6.5.1). The newest nonce held is used first and the badNonce answer's own on a retry;
// before, the oldest went first, so a pool grown by GETs was refused until the call failed.
#include <doctest/doctest.h>

#include <string>

#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "crypto/keys.hpp"
#include "fault/ca_refusal.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

// newOrder for `name`, or the CA's error as a failure of the case.
acme::Order placeOrder(acme::Client& client, const std::string& name) {
    try {
        return client.newOrder({name}, "", "default");
    } catch (const acme::AcmeError& e) {
        FAIL("newOrder failed: " << std::string(e.what()));
    }
    return {};
}

}  // namespace

TEST_CASE("CA nonces: after 40 directory reads, each bringing a nonce, newOrder is signed with "
          "one the CA still accepts") {
    StalledCa ca({"--stall", "none", "--fresh-nonces", "8"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    constexpr int kReads = 40;
    for (int i = 0; i < kReads; ++i) client.refreshDirectory();
    REQUIRE(ca.requests("GET", "/dir") == kReads + 1);
    // Before: signed with the oldest nonce held (newAccount's answer's), then one directory
    // read's after the other, each refused, each badNonce answer's fresh nonce put behind them:
    // 17 newOrder POSTs refused and newOrder failed badNonce.
    const acme::Order order = placeOrder(client, "nonce-pool.example");
    INFO(describe(ca.process()));
    CHECK(std::string(acme::toString(order.status)) == "pending");
    CHECK(ca.requests("BADNONCE", "/") == 0);
    CHECK(ca.requests("POST", "/order-plz") == 1);
}

TEST_CASE("CA nonces: a badNonce is retried with the nonce its answer carried") {
    // Only the newest nonce issued is accepted: another client's request makes ours stale.
    StalledCa ca({"--stall", "none", "--fresh-nonces", "1"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    for (int i = 0; i < 3; ++i) client.refreshDirectory();
    {
        acme::Transport otherTransport = makeStandInTransport();
        acme::Client other(otherTransport, ca.directory());
        const Pkey otherKey = generateEcdsaP256Key();
        other.newAccount(otherKey.get(), "");
    }
    // Before: the held nonces went first, oldest first, and each badNonce answer's nonce behind
    // them, stale by the time its turn came: 17 POSTs refused, newOrder failed badNonce.
    const acme::Order order = placeOrder(client, "nonce-retry.example");
    INFO(describe(ca.process()));
    CHECK(std::string(acme::toString(order.status)) == "pending");
    CHECK(ca.requests("BADNONCE", "/order-plz") == 1);
    CHECK(ca.requests("POST", "/order-plz") == 2);
}
