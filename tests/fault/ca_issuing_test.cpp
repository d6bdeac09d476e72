// How long an order the CA is issuing is waited on (README "How issuance and renewal work",
// await_order), against the stand-in CA tests/support/stalled_ca.py --stall none: once finalize
// is accepted the order is polled until its own expiry (RFC 8555 §7.1.3), at most kMaxIssuingWait
// (24 h) from the step's start, not failed at POLL_TIMEOUT (some CAs take hours); past
// POLL_TIMEOUT as often as the CA's Retry-After says (up to an hour), not every POLL_INTERVAL;
// past its expiry it is read once more, downloaded if the CA issued it, else replaced by a fresh
// order (so is an order still in finalize whose answer was lost: read first, found issued,
// downloaded); an order newOrder gave no expiry still fails at POLL_TIMEOUT, its valid
// authorization kept. The await_order cases set the step's clock back past POLL_TIMEOUT after
// the CA's first "processing" answer to an order poll, as if the CA had been issuing for hours
// (ZeroSSL answers Retry-After up to 86400 on a processing order).
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// "processing" answers for the authorization and then for the order.
constexpr std::size_t kProcessingPolls = 4;

// The stand-in answering "processing" `polls` times each, with Retry-After: `retryAfter` seconds.
std::vector<std::string> issuingSlowly(int retryAfter, std::size_t polls = kProcessingPolls) {
    return {"--stall",           "none", "--retry-after", std::to_string(retryAfter),
            "--processing-polls", std::to_string(polls)};
}

// The polls of the order since finalize (none before it).
std::size_t orderPollsSinceFinalize(const StalledCa& ca) {
    const std::vector<double> finalized = ca.requestTimes("POST", "/finalize/");
    if (finalized.empty()) return 0;
    return since(ca.requestTimes("POST", "/order/"), finalized.at(0)).size();
}

// A scheduler (POLL_TIMEOUT 1m) on `domain`'s issue order at `ca`, returned once the CA has
// answered the first poll after finalize "processing". POLL_INTERVAL 2s: past POLL_TIMEOUT the
// order is polled no more often than that.
std::unique_ptr<SchedulerProcess> issuingAt(const StalledCa& ca, const TestDomain& domain,
                                            const std::string& pollInterval = "2s") {
    auto scheduler = startIssuance(domain, Env{{"ACME_DIRECTORY", ca.directory()},
                                               {"POLL_INTERVAL", pollInterval},
                                               {"POLL_TIMEOUT", "1m"}});
    REQUIRE_MESSAGE(waitFor(30s, [&] { return orderPollsSinceFinalize(ca) >= 1; }, 20ms),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    return scheduler;
}

// The domain's order rows, for "SELECT ... " + this.
std::string ordersOf(const TestDomain& domain) {
    return "FROM acme_orders WHERE domain_id = " + quoted(domain.id);
}

std::string statusOf(const TestDomain& domain) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id));
}

// Sets the step's clock back by `age` (an SQL interval; 2 hours: past POLL_TIMEOUT, within
// kMaxIssuingWait), and `alsoSet` ("expires_at = ...") when given; the case stops unless the CA
// was still issuing then (else it would test nothing of the wait).
void setClockBack(const StalledCa& ca, const TestDomain& domain,
                  const std::string& age = "2 hours", const std::string& alsoSet = "") {
    execute("UPDATE acme_orders SET step_started_at = now() - interval '" + age + "'" +
            (alsoSet.empty() ? "" : ", " + alsoSet) + " WHERE domain_id = " + quoted(domain.id));
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) < kProcessingPolls,
                    "the order was valid before the clock was set back");
}

}  // namespace

TEST_CASE("CA protocol: an order still processing after finalize past POLL_TIMEOUT is polled on "
          "and issued") {
    Leftovers leftovers;
    StalledCa ca(issuingSlowly(1));
    const TestDomain domain = verifiedDomain("ca-issuing-slow", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    setClockBack(ca, domain);  // the stand-in's order expires in 2099
    // Before, the next "processing" answer failed it "the CA did not issue within 1m", and the
    // certificate the CA went on to issue was never fetched. Three more polls, 2 s apart.
    requireAllActive({domain}, 30s);
    CHECK(ca.requests("POST", "/finalize/") == 1);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order still processing past POLL_TIMEOUT is polled again when the "
          "CA's Retry-After says, at most an hour later") {
    Leftovers leftovers;
    // ZeroSSL's answer on a processing order. Within POLL_TIMEOUT it is cut to POLL_INTERVAL
    // (the authorization's polls and the order's first): the CA may be done in seconds.
    StalledCa ca(issuingSlowly(86400));
    const TestDomain domain = verifiedDomain("ca-issuing-retry-after", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    setClockBack(ca, domain);
    // The next poll answers "processing", Retry-After: 86400: the order's next attempt an hour
    // away (kMaxPollRetryAfter). Before, POLL_INTERVAL (2 s) away: 43,200 polls a day.
    const std::string orders = ordersOf(domain);
    const std::string parked = " AND next_attempt_at > now() + interval '50 minutes'";
    REQUIRE_MESSAGE(
        waitFor(15s, [&] { return count("SELECT count(*) " + orders + parked) == 1; }),
        "next attempt in " << scalar("SELECT (next_attempt_at - now())::text " + orders)
                           << ", order polls since finalize: " << orderPollsSinceFinalize(ca)
                           << "\n" << statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(count("SELECT count(*) " + orders +
                " AND next_attempt_at < now() + interval '61 minutes'") == 1);
    // Never polled until valid, so never downloaded.
    CHECK(orderPollsSinceFinalize(ca) <= kProcessingPolls);
    CHECK(statusOf(domain) == "certificate_pending");
    CHECK(ca.requests("POST", "/cert/") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order whose expiry passes while the CA is still issuing is replaced "
          "by a fresh one") {
    Leftovers leftovers;
    StalledCa ca(issuingSlowly(1));
    const TestDomain domain = verifiedDomain("ca-issuing-expired", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    setClockBack(ca, domain);
    // Polled on past POLL_TIMEOUT (before, this poll failed the order); then its expiry passes.
    REQUIRE_MESSAGE(waitFor(15s, [&] { return orderPollsSinceFinalize(ca) >= 2; }, 20ms),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    execute("UPDATE acme_orders SET expires_at = now() - interval '1 second' WHERE domain_id = " +
            quoted(domain.id));
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) < kProcessingPolls,
                    "the order was valid before its expiry was set back");
    // RFC 8555 §7.1.3: past its expiry the CA considers the order invalid. Read once more (still
    // "processing") and, like any expired order, replaced by a fresh one, generation 2.
    const std::string orders = ordersOf(domain);
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                return count("SELECT count(*) " + orders +
                                             " AND status = 'replaced'") == 1;
                            }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(count("SELECT count(*) " + orders + " AND generation = 2") == 1);
    CHECK(statusOf(domain) == "certificate_pending");
    CHECK(ca.requests("POST", "/cert/") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order the CA issued is downloaded, not replaced, when its expiry "
          "passed before it was read again") {
    Leftovers leftovers;
    // One "processing" answer to the order's poll after finalize, then valid; Retry-After: 5 at
    // POLL_INTERVAL 5s: the next poll 5 s after the first.
    StalledCa ca(issuingSlowly(5, 1));
    const TestDomain domain = verifiedDomain("ca-issuing-issued-late", leftovers);
    const auto scheduler = issuingAt(ca, domain, "5s");
    // Its expiry passes meanwhile, as over a scheduler restart or a long Retry-After.
    execute("UPDATE acme_orders SET expires_at = now() - interval '1 second' WHERE domain_id = " +
            quoted(domain.id));
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) == 1,
                    "the order was polled again before its expiry was set back");
    // The CA issued it: read first, downloaded and stored. Before, it was replaced by a fresh
    // order without asking (new values to publish) and the certificate was never fetched.
    requireAllActive({domain}, 30s);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(ca.requests("POST", "/order-plz") == 1);
    CHECK(count("SELECT count(*) " + ordersOf(domain) + " AND status = 'replaced'") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order whose finalize answer was lost is downloaded, not replaced, "
          "when its expiry passed before the next attempt") {
    Leftovers leftovers;
    // The CA takes finalize and issues; its answer is lost (the connection closed), so the step
    // stays finalize and is retried POLL_INTERVAL (5 s) later. The order is valid by then.
    StalledCa ca({"--stall", "none", "--processing-polls", "0", "--lose-finalize-answer"});
    const TestDomain domain = verifiedDomain("ca-issuing-lost-finalize", leftovers);
    const auto scheduler = startIssuance(domain, Env{{"ACME_DIRECTORY", ca.directory()},
                                                     {"POLL_INTERVAL", "5s"},
                                                     {"POLL_TIMEOUT", "1m"}});
    REQUIRE_MESSAGE(waitFor(30s, [&] { return ca.requests("LOST", "/finalize/") == 1; }, 20ms),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    // Its expiry passes before that attempt, as over a long outage or a scheduler killed
    // before it recorded the step.
    execute("UPDATE acme_orders SET expires_at = now() - interval '1 second' WHERE domain_id = " +
            quoted(domain.id));
    REQUIRE_MESSAGE(ca.requests("POST", "/order/") == 1,  // the read before finalize (ready)
                    "the order was read again before its expiry was set back");
    // Read first, found valid, downloaded and stored. Before, runStep replaced it unread
    // ("acme order expired"): a second newOrder, new values to publish, no certificate.
    requireAllActive({domain}, 30s);
    CHECK(ca.requests("POST", "/finalize/") == 1);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(ca.requests("POST", "/order-plz") == 1);
    CHECK(count("SELECT count(*) " + ordersOf(domain) + " AND status = 'replaced'") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order still processing a day after finalize fails although its "
          "expiry is far away") {
    Leftovers leftovers;
    StalledCa ca(issuingSlowly(1));
    const TestDomain domain = verifiedDomain("ca-issuing-day", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    // Past kMaxIssuingWait (24 h) in the step; the stand-in's order expires in 2099.
    setClockBack(ca, domain, "25 hours");
    // Before, nothing but the order's expiry ended the wait: the domain stayed
    // certificate_pending as long as the CA said "processing" (here it went on and issued).
    const std::string orders = ordersOf(domain);
    REQUIRE_MESSAGE(waitFor(15s, [&] { return statusOf(domain) == "failed"; }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(scalar("SELECT error_code " + orders) == "timeout");
    CHECK(scalar("SELECT error " + orders).find("the CA did not issue within 24h") !=
          std::string::npos);
    CHECK(scheduler->terminate() == 0);  // the failure settled
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 0);  // valid, kept for the next order
    CHECK(ca.requests("POST", "/cert/") == 0);
}

TEST_CASE("CA protocol: an order still processing that newOrder gave no expiry fails at "
          "POLL_TIMEOUT and keeps its valid authorization") {
    Leftovers leftovers;
    StalledCa ca(issuingSlowly(1));
    const TestDomain domain = verifiedDomain("ca-issuing-no-expiry", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    // As if newOrder had sent no expires (RFC 8555 §7.1.3 requires one of a pending order): no
    // bound of the CA's, so POLL_TIMEOUT is the bound.
    setClockBack(ca, domain, "2 hours", "expires_at = NULL");
    const std::string orders = ordersOf(domain);
    REQUIRE_MESSAGE(waitFor(15s, [&] { return statusOf(domain) == "failed"; }),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    CHECK(scalar("SELECT error_code " + orders) == "timeout");
    CHECK(scalar("SELECT error " + orders).find("the CA did not issue within 1m") !=
          std::string::npos);
    CHECK(scheduler->terminate() == 0);  // the failure settled, authorizations given back or not
    // Every authorization of an order past finalize is valid: it stays for the domain's next
    // order. Before, a failed order deactivated it (and the retry needed a new value).
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 0);
    CHECK(ca.requests("POST", "/cert/") == 0);
}
