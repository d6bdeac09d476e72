// POST /domains/{id}/check while a worker is in the middle of the order's DNS lookup (README
// "API"): that lookup may have started before the customer published, so the request is
// remembered and the release makes the order due at once, not a POLL_INTERVAL later. The
// worker's side through OrderStore (claimDue, release), the handler's through DomainRepository
// (requestDnsCheck), on a scratch database: claimDue takes any due order.
#include <doctest/doctest.h>

#include <string>

#include "crypto/random.hpp"
#include "domain/domain_repository.hpp"
#include "issuance/order_store.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kWorker = "check-during-lookup-test";
constexpr Poco::Int64 kLeaseMs = 60'000;
constexpr Poco::Int64 kPollIntervalMs = 10'000;  // the handlers' POLL_INTERVAL
constexpr Poco::Int64 kSchedulerPollMs = 60'000;  // the delay the worker releases with

struct Order {
    std::string domainId;
    std::string orderId;
};

// An issue order waiting for DNS, not leased, its next poll `nextAttempt` (SQL).
Order awaitingDns(ScratchDatabase& scratch, const std::string& nextAttempt) {
    const Order order{randomHex(16), randomHex(16)};
    scratch.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
                "VALUES ('https://ca.test/directory', 'sealed', 'k') ON CONFLICT DO NOTHING");
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES ('" + order.domainId + "', 'check-" + order.domainId + ".example', '" +
                std::string(64, 'a') + "', 'certificate_pending', now())");
    scratch.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                "finalize_url, status, step, next_attempt_at, dns_poll) VALUES ('" +
                order.orderId + "', '" + order.domainId +
                "', 'issue', (SELECT id FROM acme_accounts), 'https://ca.test/order/" +
                order.orderId + "', 'https://ca.test/finalize/" + order.orderId +
                "', 'pending', 'await_dns', " + nextAttempt + ", true)");
    return order;
}

void claim(ScratchDatabase& scratch, const Order& order) {
    const auto claimed = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimDue(kWorker, kLeaseMs);
    });
    REQUIRE(claimed == order.orderId);
}

DomainRepository::DnsCheckRequest check(ScratchDatabase& scratch, const Order& order) {
    return scratch.database().withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).requestDnsCheck(order.domainId, kPollIntervalMs);
    });
}

// The lookup ended: "not visible yet" (a DNS poll) or an error's backoff.
void release(ScratchDatabase& scratch, const Order& order, bool dnsPoll) {
    scratch.database().withSession([&](Poco::Data::Session& session) {
        OrderStore(session).release(order.orderId, kWorker, kSchedulerPollMs, dnsPoll);
        return true;
    });
}

// How far the order's next attempt is from now, in whole seconds (negative: past).
long long nextAttemptInSeconds(ScratchDatabase& scratch, const Order& order) {
    return std::stoll(scratch.text(
        "SELECT round(extract(epoch FROM next_attempt_at - now()))::bigint::text "
        "FROM acme_orders WHERE id = '" + order.orderId + "'"));
}

using Outcome = DomainRepository::DnsCheckRequest::Outcome;

}  // namespace

TEST_CASE("check during lookup: a check while a worker runs the lookup makes its release due at "
          "once") {
    ScratchDatabase scratch("dnsh_check_lookup");
    scratch.migrate();
    const Order order = awaitingDns(scratch, "now() - interval '1 second'");
    claim(scratch, order);  // the worker's await_dns step starts its lookup

    // The customer publishes and asks: the lookup running may have missed it.
    CHECK(check(scratch, order).outcome == Outcome::Due);
    release(scratch, order, true);

    // Due now, not after the worker's POLL_INTERVAL.
    CHECK(nextAttemptInSeconds(scratch, order) <= 0);
    CHECK(scratch.text("SELECT (lease_owner IS NULL)::text FROM acme_orders WHERE id = '" +
                       order.orderId + "'") == "true");
}

TEST_CASE("check during lookup: a check brought forward before the claim does not make the "
          "release due again, and a second one meanwhile is too soon") {
    ScratchDatabase scratch("dnsh_check_lookup");
    scratch.migrate();
    const Order order = awaitingDns(scratch, "now() + interval '1 hour'");
    // The check moves the poll to now; the worker claims it and looks (after the publish).
    REQUIRE(check(scratch, order).outcome == Outcome::Due);
    claim(scratch, order);

    // Asked again while that lookup runs: once per POLL_INTERVAL, like any check.
    const auto again = check(scratch, order);
    CHECK(again.outcome == Outcome::TooSoon);
    CHECK(again.waitMs > 0);
    CHECK(again.waitMs <= kPollIntervalMs);
    release(scratch, order, true);

    // The lookup that ran came after the check: the next is a full poll away.
    CHECK(nextAttemptInSeconds(scratch, order) >= kSchedulerPollMs / 1000 - 5);
}

TEST_CASE("check during lookup: a check while the lookup runs does not shorten an error's "
          "backoff") {
    ScratchDatabase scratch("dnsh_check_lookup");
    scratch.migrate();
    const Order order = awaitingDns(scratch, "now() - interval '1 second'");
    claim(scratch, order);
    CHECK(check(scratch, order).outcome == Outcome::Due);
    // The zone did not answer: a backoff, which no check brings forward (README "Limits").
    release(scratch, order, false);
    CHECK(nextAttemptInSeconds(scratch, order) >= kSchedulerPollMs / 1000 - 5);
}
