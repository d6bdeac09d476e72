// A success answer whose body the client cannot use, against the stand-in CA
// tests/support/stalled_ca.py --bad-answer: an order read answered 200 with an HTML page (a proxy
// in front of the CA) is the CA's protocol error, 502 (acme/transport.hpp's HttpReply::json), so
// the step is retried and another CA may be tried, as for a certificate download that is no chain
// (ca_chain_test); an answer cut short of its Content-Length by a clean TLS close is a lost
// answer, never taken whole (RFC 9112 §8): a POST-as-GET is read again.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "crypto/keys.hpp"
#include "fault/ca_refusal.hpp"
#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// An account and one order at `ca`, through the ACME client alone.
struct StandInOrder {
    explicit StandInOrder(const StalledCa& ca)
        : transport(makeStandInTransport()), client(transport, ca.directory()) {
        client.newAccount(key.get(), "");
        order = client.newOrder({"answer-body.example"}, "", "default");
    }

    acme::Transport transport;
    acme::Client client;
    const Pkey key = generateEcdsaP256Key();
    acme::Order order;
};

}  // namespace

TEST_CASE("CA answer body: an order read answered 200 with an HTML page is the CA's 502, and "
          "the next read takes the order") {
    StalledCa ca({"--stall", "none", "--bad-answer", "order-not-json"});
    StandInOrder placed(ca);
    try {
        placed.client.getOrder(placed.order.url);
        FAIL("the HTML page was taken for an order");
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail);
        // Before: the answer's own status, 200: not retryable, so a scheduler failed the order
        // ca_refused at once, and newOrder's such answer was not passed over to the next CA.
        CHECK(e.problem().status == 502);
        CHECK(e.retryable());
        CHECK(names(e, "is not a JSON object"));
        CHECK(names(e, "text/html"));
    }
    CHECK(ca.requests("NOT-JSON", "/order/") == 1);
    CHECK(std::string(acme::toString(placed.client.getOrder(placed.order.url).status)) ==
          "pending");
}

TEST_CASE("CA answer body: after an order read answered with an HTML page the order step is "
          "retried and the certificate issued") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--processing-polls", "0", "--bad-answer", "order-not-json"});
    const TestDomain domain = verifiedDomain("ca-answer-body", leftovers);
    const auto scheduler = startIssuance(domain, {{"ACME_DIRECTORY", ca.directory()}});
    INFO(describe(*scheduler) << "\n" << describe(ca.process()));
    // Before: the order failed ca_refused at its first read, "the CA sent a body that is not a
    // JSON object", nothing finalized.
    requireAllActive({domain}, 30s);
    CHECK(ca.requests("NOT-JSON", "/order/") == 1);
    CHECK(ca.requests("POST", "/finalize/") == 1);
    CHECK(scheduler->log().find("order step will be retried") != std::string::npos);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA answer body: an order read cut short of its Content-Length by a clean close is "
          "read again, not taken whole") {
    StalledCa ca({"--stall", "none", "--bad-answer", "order-cut"});
    StandInOrder placed(ca);
    const acme::Order read = placed.client.getOrder(placed.order.url);
    INFO(describe(ca.process()));
    CHECK(std::string(acme::toString(read.status)) == "pending");
    CHECK(ca.requests("CUT", "/order/") == 1);
    // The cut answer refused, and the POST-as-GET sent again on a fresh connection (RFC 8555
    // §6.3: safe to repeat). Before: the cut body taken as the whole answer, one read.
    CHECK(ca.requests("POST", "/order/") == 2);
}
