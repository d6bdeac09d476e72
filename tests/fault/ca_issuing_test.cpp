// How long an order the CA is issuing is waited on (README "How issuance and renewal work",
// await_order), against the stand-in CA tests/support/stalled_ca.py --stall none: once finalize
// is accepted the order is polled at the capped pace until its own expiry (RFC 8555 §7.1.3), not
// failed at POLL_TIMEOUT (some CAs take hours); past the expiry it is replaced by a fresh order,
// as any expired order is; an order newOrder gave no expiry still fails at POLL_TIMEOUT, its
// valid authorization kept. Each case sets the step's clock back past POLL_TIMEOUT after the
// CA's first "processing" answer to an order poll, as if the CA had been issuing for a day
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

// "processing" answers for the authorization and then for the order, a second apart.
constexpr std::size_t kProcessingPolls = 4;
const std::vector<std::string> kIssuingSlowly{"--stall", "none", "--retry-after", "1",
                                              "--processing-polls",
                                              std::to_string(kProcessingPolls)};

// The polls of the order since finalize (none before it).
std::size_t orderPollsSinceFinalize(const StalledCa& ca) {
    const std::vector<double> finalized = ca.requestTimes("POST", "/finalize/");
    if (finalized.empty()) return 0;
    return since(ca.requestTimes("POST", "/order/"), finalized.at(0)).size();
}

// A scheduler (POLL_TIMEOUT 1m) on `domain`'s issue order at `ca`, returned once the CA has
// answered the first poll after finalize "processing".
std::unique_ptr<SchedulerProcess> issuingAt(const StalledCa& ca, const TestDomain& domain) {
    auto scheduler = startIssuance(domain, Env{{"ACME_DIRECTORY", ca.directory()},
                                               {"POLL_INTERVAL", "5s"},
                                               {"POLL_TIMEOUT", "1m"}});
    REQUIRE_MESSAGE(waitFor(30s, [&] { return orderPollsSinceFinalize(ca) >= 1; }, 20ms),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    return scheduler;
}

// The domain's order rows, for "SELECT ... " + this.
std::string ordersOf(const TestDomain& domain) {
    return "FROM acme_orders WHERE domain_id = " + quoted(domain.id);
}

// Sets the step's clock back a day, and `alsoSet` ("expires_at = ...") when given.
void setClockBack(const TestDomain& domain, const std::string& alsoSet = "") {
    execute("UPDATE acme_orders SET step_started_at = now() - interval '1 day'" +
            (alsoSet.empty() ? "" : ", " + alsoSet) + " WHERE domain_id = " + quoted(domain.id));
}

}  // namespace

TEST_CASE("CA protocol: an order still processing after finalize past POLL_TIMEOUT is polled on "
          "and issued") {
    Leftovers leftovers;
    StalledCa ca(kIssuingSlowly);
    const TestDomain domain = verifiedDomain("ca-issuing-slow", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    setClockBack(domain);  // the stand-in's order expires in 2099
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) < kProcessingPolls,
                    "the order was valid before the clock was set back");
    // Before, the next "processing" answer failed it "the CA did not issue within 1m", and the
    // certificate the CA went on to issue was never fetched.
    requireAllActive({domain}, 30s);
    CHECK(ca.requests("POST", "/finalize/") == 1);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order whose expiry passes while the CA is still issuing is replaced "
          "by a fresh one") {
    Leftovers leftovers;
    StalledCa ca(kIssuingSlowly);
    const TestDomain domain = verifiedDomain("ca-issuing-expired", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    setClockBack(domain);
    // Polled on past POLL_TIMEOUT (before, this poll failed the order); then its expiry passes.
    REQUIRE_MESSAGE(waitFor(15s, [&] { return orderPollsSinceFinalize(ca) >= 2; }, 20ms),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    execute("UPDATE acme_orders SET expires_at = now() - interval '1 second' WHERE domain_id = " +
            quoted(domain.id));
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) < kProcessingPolls,
                    "the order was valid before its expiry was set back");
    // RFC 8555 §7.1.3: past its expiry the CA considers the order invalid. Like any expired
    // order (runStep) it is replaced by a fresh one, generation 2, and never polled again.
    const std::string orders = ordersOf(domain);
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                return count("SELECT count(*) " + orders +
                                             " AND status = 'replaced'") == 1;
                            }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(count("SELECT count(*) " + orders + " AND generation = 2") == 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
    CHECK(ca.requests("POST", "/cert/") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA protocol: an order still processing that newOrder gave no expiry fails at "
          "POLL_TIMEOUT and keeps its valid authorization") {
    Leftovers leftovers;
    StalledCa ca(kIssuingSlowly);
    const TestDomain domain = verifiedDomain("ca-issuing-no-expiry", leftovers);
    const auto scheduler = issuingAt(ca, domain);
    // As if newOrder had sent no expires (RFC 8555 §7.1.3 requires one of a pending order): no
    // bound of the CA's, so POLL_TIMEOUT is the bound.
    setClockBack(domain, "expires_at = NULL");
    REQUIRE_MESSAGE(orderPollsSinceFinalize(ca) < kProcessingPolls,
                    "the order was valid before the clock was set back");
    const std::string orders = ordersOf(domain);
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                return scalar("SELECT status FROM domains WHERE id = " +
                                              quoted(domain.id)) == "failed";
                            }),
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
