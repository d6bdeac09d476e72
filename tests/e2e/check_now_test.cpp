// POST /domains/{id}/check ("I have published it", README "API"): it brings forward the DNS
// lookup an order waits for, at most once per POLL_INTERVAL, and never the retry of an order that
// waits out a backoff (the CA's Retry-After, a zone that does not answer): 429 with Retry-After.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

std::string liveOrder(const TestDomain& domain, const std::string& columns) {
    return scalar("SELECT " + columns + " FROM acme_orders WHERE domain_id = " + quoted(domain.id) +
                  " AND status IN ('pending', 'ready', 'processing')");
}

// Released by the scheduler (no lease) with its next attempt at least `ahead` away.
bool waitsAtLeast(const TestDomain& domain, const std::string& ahead) {
    return liveOrder(domain, "lease_owner IS NULL AND next_attempt_at > now() + interval '" +
                                 ahead + "'") == "true";
}


}  // namespace

TEST_CASE(
    "check: POST /check does not bring forward an order that waits out a backoff, it answers "
    "429 with Retry-After") {
    Leftovers leftovers;
    const std::vector<std::string> addresses =
        splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES"));
    FakeNameservers silent(addresses);  // read, never answered: every look is a dns_timeout
    const TestDomain domain = orderedDomain(requireEnv("DNSH_TEST_SILENT_ZONE"), "wait", leftovers);
    {
        // One look at the zone's nameservers: dns_timeout, an attempt counted, a backoff from
        // POLL_INTERVAL (30 s) before the next.
        const auto scheduler =
            startScheduler({{"DNS_RESOLVER", requireEnv("DNSH_TEST_UNBOUND")},
                            {"DNS_PRECHECK", "authoritative"},
                            {"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")},
                            {"DNS_PRECHECK_ALLOW", "127.0.0.0/8"},
                            {"SCHEDULER_LEASE", "8s"},
                            {"DNS_TIMEOUT", "2s"},
                            {"POLL_INTERVAL", "30s"}});
        REQUIRE_MESSAGE(waitFor(30s,
                                [&] {
                                    return liveOrder(domain, "attempts") == "1" &&
                                           waitsAtLeast(domain, "20 seconds");
                                }),
                        describe(*scheduler));
        CHECK(scheduler->terminate() == 0);
    }
    const std::string before = liveOrder(domain, "next_attempt_at");

    const HttpResult checked = postJson("/domains/" + domain.id + "/check", "");
    CAPTURE(checked.body);
    CHECK(checked.status == 429);
    CHECK(checked.retryAfterSeconds() >= 15);
    CHECK(checked.retryAfterSeconds() <= 30);
    CHECK(checked.jsonString("error").find("backoff") != std::string::npos);
    // The order still waits out its backoff.
    CHECK(liveOrder(domain, "next_attempt_at") == before);
}

TEST_CASE("check: POST /check brings a DNS lookup forward at most once per POLL_INTERVAL") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("check-once", leftovers);
    startIssuance(domain);  // the verification token stays at the name: never found
    // Lookups a minute apart; the handlers' POLL_INTERVAL is the stack's (10 s).
    const auto scheduler = startScheduler({{"POLL_INTERVAL", "60s"}});
    REQUIRE_MESSAGE(waitFor(15s, [&] { return waitsAtLeast(domain, "40 seconds"); }),
                    describe(*scheduler));
    const std::string first = liveOrder(domain, "next_attempt_at");

    const HttpResult checked = postJson("/domains/" + domain.id + "/check", "");
    REQUIRE_MESSAGE(checked.status == 202, checked.body);
    // The lookup ran at once: the order waits a minute again, from later than before.
    REQUIRE_MESSAGE(waitFor(10s,
                            [&] {
                                return waitsAtLeast(domain, "40 seconds") &&
                                       liveOrder(domain, "next_attempt_at") != first;
                            }),
                    describe(*scheduler));
    const std::string second = liveOrder(domain, "next_attempt_at");

    // Again at once: too soon.
    const HttpResult again = postJson("/domains/" + domain.id + "/check", "");
    CAPTURE(again.body);
    CHECK(again.status == 429);
    CHECK(again.retryAfterSeconds() >= 1);
    CHECK(again.retryAfterSeconds() <= 10);
    CHECK(again.jsonString("error").find("POLL_INTERVAL") != std::string::npos);
    CHECK(liveOrder(domain, "next_attempt_at") == second);
    CHECK(scheduler->terminate() == 0);
}
