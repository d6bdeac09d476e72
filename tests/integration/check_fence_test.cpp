// The domain's checks a scheduler step records (domains.last_check and caa_check, the view's
// `checks`) are fenced by the order's lease like every other write of a step: worker A, paused
// past its lease (a VM pause, a long CA call) while worker B took the order over and finished
// it, gets LeaseLost and writes nothing, instead of leaving its stale `txt_not_found` on a domain
// B made active until the next renewal looks again. The check that led to a failure is written
// with the failure, in its transaction. Through OrderStore on a scratch database, as the workers
// call it (claimDue takes any due order).
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "crypto/random.hpp"
#include "issuance/order_store.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kWorkerA = "check-fence-test:A";
const std::string kWorkerB = "check-fence-test:B";
constexpr Poco::Int64 kLeaseMs = 60'000;

struct Order {
    std::string domainId;
    std::string orderId;
};

// What a step records, told apart by its result.
std::string checkJson(const std::string& result) {
    return "{\"name\":\"_acme-challenge.example\",\"result\":\"" + result + "\"}";
}

// An issue order waiting for DNS, due now and leased to nobody; its domain certificate_pending.
// Its certificate key is saved already (the row storeCertificate copies it from).
Order awaitingDns(ScratchDatabase& scratch) {
    const Order order{randomHex(16), randomHex(16)};
    scratch.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
                "VALUES ('https://ca.test/directory', 'sealed', 'k') ON CONFLICT DO NOTHING");
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES ('" + order.domainId + "', 'fence-" + order.domainId + ".example', '" +
                std::string(64, 'a') + "', 'certificate_pending', now())");
    scratch.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                "finalize_url, status, step, next_attempt_at, cert_key_ciphertext, cert_key_id) "
                "VALUES ('" +
                order.orderId + "', '" + order.domainId +
                "', 'issue', (SELECT id FROM acme_accounts), 'https://ca.test/order/" +
                order.orderId + "', 'https://ca.test/finalize/" + order.orderId +
                "', 'pending', 'await_dns', now() - interval '1 second', 'sealed', 'k')");
    return order;
}

template <typename Work>
auto withOrders(ScratchDatabase& scratch, Work&& work) {
    return scratch.database().withSession([&](Poco::Data::Session& session) {
        OrderStore orders(session);
        return work(orders);
    });
}

void claim(ScratchDatabase& scratch, const Order& order, const std::string& worker) {
    const auto claimed =
        withOrders(scratch, [&](OrderStore& orders) { return orders.claimDue(worker, kLeaseMs); });
    REQUIRE(claimed == order.orderId);
}

// Worker A claims the order, is paused past its lease (its expiry moved back by SQL) and
// worker B claims the order.
void takenOverByB(ScratchDatabase& scratch, const Order& order) {
    claim(scratch, order, kWorkerA);
    scratch.run("UPDATE acme_orders SET lease_expires_at = now() - interval '1 second' "
                "WHERE id = '" + order.orderId + "'");
    claim(scratch, order, kWorkerB);
}

// True when the write was refused with LeaseLost (a write fenced by the lease changes nothing).
bool leaseLost(ScratchDatabase& scratch, const std::function<void(OrderStore&)>& write) {
    try {
        withOrders(scratch, [&](OrderStore& orders) {
            write(orders);
            return true;
        });
    } catch (const LeaseLost&) {
        return true;
    }
    return false;
}

std::string domainColumn(ScratchDatabase& scratch, const Order& order, const std::string& column) {
    return scratch.text("SELECT coalesce(" + column + ", '(none)') FROM domains WHERE id = '" +
                        order.domainId + "'");
}

// The "result" of the check stored in `column` (stored with its times appended, so not the text
// recorded).
std::string checkResult(ScratchDatabase& scratch, const Order& order, const std::string& column) {
    return domainColumn(scratch, order, "(" + column + ")::json->>'result'");
}

std::string orderStatus(ScratchDatabase& scratch, const std::string& orderId) {
    return scratch.text("SELECT status FROM acme_orders WHERE id = '" + orderId + "'");
}

// Built whole: assigned field by field, GCC 12 at -O2 warns (-Werror=restrict) on a string copy.
NewCertificate newCertificate() {
    return NewCertificate{randomHex(16), "leaf", "chain", "2026-12-01T00:00:00Z",
                          "2027-03-01T00:00:00Z", 30LL * 24 * 3600 * 1000, std::nullopt};
}

const std::string kStale = checkJson("txt_not_found");

// `worker`'s stale TXT and CAA checks: each refused with LeaseLost.
void checkStaleChecksRefused(ScratchDatabase& scratch, const Order& order,
                             const std::string& worker) {
    CHECK(leaseLost(scratch,
                    [&](OrderStore& s) { s.recordCheck(order.orderId, worker, kStale); }));
    CHECK(leaseLost(scratch,
                    [&](OrderStore& s) { s.recordCaaCheck(order.orderId, worker, kStale); }));
}

}  // namespace

TEST_CASE("check fence: a worker that lost its lease records no check, before or after the "
          "order is finished by the worker that took it over") {
    ScratchDatabase scratch("dnsh_check_fence");
    scratch.migrate();
    const Order order = awaitingDns(scratch);
    takenOverByB(scratch, order);

    // While B holds the live order.
    checkStaleChecksRefused(scratch, order, kWorkerA);
    CHECK(domainColumn(scratch, order, "last_check") == "(none)");
    CHECK(domainColumn(scratch, order, "caa_check") == "(none)");

    // B sees the values and stores the certificate: the domain is active, the order valid and
    // leased to nobody.
    withOrders(scratch, [&](OrderStore& orders) {
        orders.recordCheck(order.orderId, kWorkerB, checkJson("found"));
        orders.recordCaaCheck(order.orderId, kWorkerB, checkJson("allowed"));
        orders.storeCertificate(orders.load(order.orderId, kWorkerB), kWorkerB, newCertificate());
        return true;
    });
    REQUIRE(domainColumn(scratch, order, "status") == "active");
    REQUIRE(orderStatus(scratch, order.orderId) == "valid");

    // A resumes with its lookup from before the pause: refused, B's checks stay.
    checkStaleChecksRefused(scratch, order, kWorkerA);
    CHECK(checkResult(scratch, order, "last_check") == "found");
    CHECK(checkResult(scratch, order, "caa_check") == "allowed");
}

TEST_CASE("check fence: a worker that lost its lease records no check after the order was "
          "replaced by a fresh one") {
    ScratchDatabase scratch("dnsh_check_fence");
    scratch.migrate();
    const Order order = awaitingDns(scratch);
    takenOverByB(scratch, order);
    withOrders(scratch, [&](OrderStore& orders) {
        orders.recordCheck(order.orderId, kWorkerB, checkJson("found"));
        return orders.replace(orders.load(order.orderId, kWorkerB), kWorkerB);
    });
    REQUIRE(orderStatus(scratch, order.orderId) == "replaced");

    // The old order is finished and the new one live: A's write about the old one is refused.
    checkStaleChecksRefused(scratch, order, kWorkerA);
    CHECK(checkResult(scratch, order, "last_check") == "found");
    CHECK(domainColumn(scratch, order, "caa_check") == "(none)");
}

TEST_CASE("check fence: the check that led to a failure is recorded with it, and only by the "
          "lease owner") {
    ScratchDatabase scratch("dnsh_check_fence");
    scratch.migrate();
    const Order order = awaitingDns(scratch);
    takenOverByB(scratch, order);
    const StoredOrder stored = withOrders(
        scratch, [&](OrderStore& orders) { return orders.load(order.orderId, kWorkerB); });

    // A's failure, with its own check: refused whole.
    CHECK(leaseLost(scratch, [&](OrderStore& s) {
        s.fail(stored, kWorkerA, "TXT values not checked", FailureCode::DnsTimeout, 60'000, 60'000,
               kStale);
    }));
    CHECK(domainColumn(scratch, order, "status") == "certificate_pending");
    CHECK(domainColumn(scratch, order, "last_check") == "(none)");

    // B's: the order invalid, the domain failed, and the check that led to it recorded, though
    // the order is no longer B's once failed (recordCheck after it is fenced).
    const std::string timedOut = checkJson("dns_timeout");
    withOrders(scratch, [&](OrderStore& orders) {
        orders.fail(stored, kWorkerB, "TXT values not checked", FailureCode::DnsTimeout, 60'000,
                    60'000, timedOut);
        return true;
    });
    CHECK(orderStatus(scratch, order.orderId) == "invalid");
    CHECK(domainColumn(scratch, order, "status") == "failed");
    CHECK(checkResult(scratch, order, "last_check") == "dns_timeout");
    CHECK(leaseLost(scratch,
                    [&](OrderStore& s) { s.recordCheck(order.orderId, kWorkerB, kStale); }));
    CHECK(checkResult(scratch, order, "last_check") == "dns_timeout");
}
