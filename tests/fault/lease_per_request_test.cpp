// A scheduler's lease across one CA call of several requests (README "Several replicas"),
// against the stand-in CA tests/support/stalled_ca.py --slow-finalize: each request may take the
// whole ACME_SCHEDULER_TIMEOUT, so the lease is kept before each request, not only before the
// call. Extended only before the call, a finalize answered badNonce and sent again outlasted a
// short SCHEDULER_LEASE: another replica could claim the order meanwhile and finalize it too.
// So in place_order, for every request to any CA (--slow-new-order): a newOrder sent twice.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

TEST_CASE("lease: a finalize answered badNonce and sent again, each answer 1.8 s late, ends "
          "within a 3 s lease") {
    Leftovers leftovers;
    // Each finalize is answered 1.8 s after it came, the first with badNonce (RFC 8555 §6.5):
    // the client's one finalize call sends it twice, 3.6 s in all, each request within
    // ACME_SCHEDULER_TIMEOUT (2.5 s) and the whole call longer than SCHEDULER_LEASE (3 s).
    StalledCa ca({"--stall", "none", "--processing-polls", "1", "--slow-finalize", "1.8"});
    const TestDomain domain = verifiedDomain("lease-per-request", leftovers);
    const auto scheduler = startIssuance(domain, Env{{"ACME_DIRECTORY", ca.directory()},
                                                     {"SCHEDULER_LEASE", "3s"},
                                                     {"ACME_SCHEDULER_TIMEOUT", "2500ms"}});
    requireAllActive({domain}, 60s);
    // Before, the lease ran out while the second finalize was at the CA: another worker claimed
    // the order and sent a third finalize, and the first worker's next extension failed
    // ("lease lost"). Another replica would have done the same.
    CHECK(ca.requests("BADNONCE", "/finalize/") == 1);
    CHECK(ca.requests("POST", "/finalize/") == 2);
    CHECK_MESSAGE(scheduler->log().find("\"lease lost\"") == std::string::npos,
                  describe(*scheduler));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("lease: a renewal's newOrder answered badNonce and sent again, each answer 1.8 s late, "
          "is placed once within a 3 s lease") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string slowNewOrders = scratch.path() + "/slow-new-orders";
    StalledCa ca({"--stall", "none", "--processing-polls", "1", "--slow-new-order", "1.8",
                  "--slow-new-order-while", slowNewOrders});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()},
                  {"SCHEDULER_LEASE", "3s"},
                  {"ACME_SCHEDULER_TIMEOUT", "2500ms"}};
    const TestDomain domain = verifiedDomain("lease-placement", leftovers);
    {
        // issue-certificate places the first order itself (no scheduler's placement), at once:
        // the stand-in's newOrders are slow only from the renewal on.
        const auto issuing = startIssuance(domain, env);
        requireAllActive({domain}, 60s);
        CHECK(issuing->terminate() == 0);
    }
    const int newOrdersBefore = ca.requests("POST", "/order-plz");

    // The renewal is placed by a scheduler's place_order. Its newOrder is answered 1.8 s after
    // it came, the first with badNonce (RFC 8555 §6.5): the client's one newOrder call sends it
    // twice, 3.6 s in all, each request within ACME_SCHEDULER_TIMEOUT (2.5 s) and the whole
    // call longer than SCHEDULER_LEASE (3 s).
    scratch.write("slow-new-orders", "");
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));
    const std::string renewal =
        " FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id);
    const auto scheduler = startScheduler(env);
    // Placed: its order URL stored (recordPlaced), whatever step it went on to.
    REQUIRE_MESSAGE(waitFor(40s,
                            [&] {
                                return count("SELECT count(*)" + renewal +
                                             " AND order_url IS NOT NULL") == 1;
                            }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    // Without the lease kept before each request, it ran out while the second newOrder was at
    // the CA: the worker's next extension failed ("lease lost"), the order was claimed again
    // and placed a second time, a third newOrder. Another replica would have done the same.
    CHECK(ca.requests("BADNONCE", "/order-plz") == 1);
    CHECK(ca.requests("POST", "/order-plz") - newOrdersBefore == 2);
    CHECK_MESSAGE(scheduler->log().find("\"lease lost\"") == std::string::npos,
                  describe(*scheduler));
    CHECK(scheduler->terminate() == 0);
}
