// A renewal's customer who publishes after POLL_TIMEOUT, in an order whose placement needed a
// retry: the CA's part of await_dns gets its own POLL_TIMEOUT once the values are seen, so one
// passing CA error while answering is retried, not taken for the CA's timeout. Against the
// stand-in CA tests/support/stalled_ca.py --authorization-error 503 --authorization-errors-left
// FILE (Pebble cannot be made to fail one authorization read and then answer the next).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

TEST_CASE("renewal: a placement retried once and values published after POLL_TIMEOUT: the CA's "
          "first error while answering is retried and the renewal issued, its authorization "
          "kept") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string errorsLeft = scratch.path() + "/authorization-errors-left";
    StalledCa ca({"--stall", "none", "--authorization-error", "503",
                  "--authorization-errors-left", errorsLeft});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()},
                  {"POLL_INTERVAL", "100ms"},
                  {"POLL_TIMEOUT", "3s"}};
    const TestDomain domain = verifiedDomain("renew-late-customer", leftovers);
    {
        const auto issuing = startIssuance(domain, env);
        requireAllActive({domain}, 60s);
        CHECK(issuing->terminate() == 0);
    }
    const std::string firstCertificate =
        scalar("SELECT id FROM certificates WHERE superseded_at IS NULL AND domain_id = " +
               quoted(domain.id));
    const std::string renewal =
        " FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id);

    // The renewal's placement: newOrder answered, its authorization's read fails once (a 503),
    // the retry places it. attempts is 1 from here on (it counts for the whole order).
    scratch.write("authorization-errors-left", "1");
    execute("UPDATE certificates SET renew_at = now() WHERE id = " + quoted(firstCertificate));
    {
        const auto waiting = startScheduler(env);
        // The customer takes longer than POLL_TIMEOUT (days, in production).
        REQUIRE_MESSAGE(waitFor(30s,
                                [&] {
                                    return count("SELECT count(*)" + renewal +
                                                 " AND status = 'pending' AND step = 'await_dns' "
                                                 "AND step_started_at < now() - "
                                                 "interval '4 seconds'") == 1;
                                }),
                        statusSummary({domain}) << "\n" << describe(*waiting));
        CHECK(waiting->terminate() == 0);
    }
    const std::string orderId = scalar("SELECT id" + renewal);
    const std::string order = " FROM acme_orders WHERE id = " + quoted(orderId);
    REQUIRE(scalar("SELECT status || ':' || attempts" + order) == "pending:1");
    const int deactivatedBefore = ca.requests("DEACTIVATED", "/authz/");

    // The customer publishes; the CA's first answer while the challenges are answered is a 503.
    publish(domain, scalar("SELECT txt_value FROM acme_challenges WHERE order_id = " +
                           quoted(orderId)));
    scratch.write("authorization-errors-left", "1");
    execute("UPDATE acme_orders SET next_attempt_at = now() WHERE id = " + quoted(orderId));
    const auto answering = startScheduler(env);
    const bool settled = waitFor(40s, [&] { return scalar("SELECT status" + order) != "pending"; });
    INFO(statusSummary({domain}) << "\n" << describe(*answering));
    REQUIRE(settled);
    // Retried (the 503 is its second attempt) and renewed by the same order. Before, attempts 1
    // kept POLL_TIMEOUT from starting again when the values were seen: the 503 failed the order
    // at once (invalid, ca_refused), the renewal counted a failure, and the authorization the
    // customer had just published for was deactivated.
    CHECK(scalar("SELECT status" + order) == "valid");
    CHECK(count("SELECT attempts" + order) == 2);
    CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id)) == 2);
    CHECK(count("SELECT renewal_failures FROM certificates WHERE id = " +
                quoted(firstCertificate)) == 0);
    CHECK(ca.requests("DEACTIVATED", "/authz/") == deactivatedBefore);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    CHECK(answering->terminate() == 0);
}

TEST_CASE("renewal: POLL_TIMEOUT starts again for the CA's part once per step: a CA error past "
          "it after a second customer's wait fails the renewal") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string errorsLeft = scratch.path() + "/authorization-errors-left";
    scratch.write("authorization-errors-left", "0");
    StalledCa ca({"--stall", "none", "--authorization-error", "503",
                  "--authorization-errors-left", errorsLeft});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()},
                  {"POLL_INTERVAL", "100ms"},
                  {"POLL_TIMEOUT", "3s"}};
    const TestDomain domain = verifiedDomain("renew-restart-once", leftovers);
    {
        const auto issuing = startIssuance(domain, env);
        requireAllActive({domain}, 60s);
        CHECK(issuing->terminate() == 0);
    }
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));
    const std::string renewal =
        " FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id);
    {
        const auto placing = startScheduler(env);
        REQUIRE_MESSAGE(waitFor(30s,
                                [&] {
                                    return count("SELECT count(*)" + renewal +
                                                 " AND status = 'pending' AND step = "
                                                 "'await_dns'") == 1;
                                }),
                        statusSummary({domain}) << "\n" << describe(*placing));
        CHECK(placing->terminate() == 0);
    }
    const std::string orderId = scalar("SELECT id" + renewal);
    const std::string order = " FROM acme_orders WHERE id = " + quoted(orderId);
    // Where the review's case stands after the first restart: the clock was restarted once in
    // this step, the CA failed, then a look at the customer's nameservers timed out (a DNS poll:
    // dns_poll true) and the restarted clock passed POLL_TIMEOUT meanwhile.
    execute("UPDATE acme_orders SET step_clock_restarted = true, dns_poll = true, "
            "step_started_at = now() - interval '4 seconds', next_attempt_at = now() "
            "WHERE id = " + quoted(orderId));
    publish(domain, scalar("SELECT txt_value FROM acme_challenges WHERE order_id = " +
                           quoted(orderId)));
    scratch.write("authorization-errors-left", "1");
    const auto answering = startScheduler(env);
    const bool settled = waitFor(40s, [&] { return scalar("SELECT status" + order) != "pending"; });
    INFO(statusSummary({domain}) << "\n" << describe(*answering));
    REQUIRE(settled);
    // The CA's error past POLL_TIMEOUT fails the order. Before, the clock restarted again on
    // every such DNS poll: the 503 was retried and the renewal went through ("valid").
    CHECK(scalar("SELECT status" + order) == "invalid");
    CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id)) == 1);
    CHECK(answering->terminate() == 0);
}
