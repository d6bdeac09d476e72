// An idle dns-scheduler does not have every worker look for due orders every 100 ms: one worker
// looks, the others wait to be woken (README "Certificate lifecycle", core/idle_polling.cpp).
// Counted in PostgreSQL itself: a statement trigger on acme_orders fires for every claim, also
// one that finds nothing. And the lookout's own long scans (worker 0's delegation sweep here)
// neither hold new orders back nor the scheduler's stop.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {


}  // namespace

TEST_CASE("an idle dns-scheduler with 8 workers looks for due orders about 10 times a second") {
    ScratchDatabase scratch("idle_scheduler");
    scratch.migrate();
    scratch.run(
        "CREATE TABLE claim_count (n bigint NOT NULL); INSERT INTO claim_count VALUES (0);"
        "CREATE FUNCTION count_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE claim_count SET n = n + 1; RETURN NULL; END $$;"
        "CREATE TRIGGER count_claims AFTER UPDATE ON acme_orders "
        "FOR EACH STATEMENT EXECUTE FUNCTION count_claim();");
    const auto scheduler =
        startScheduler({{"DATABASE_URL", scratch.url()}, {"SCHEDULER_WORKERS", "8"}});
    std::this_thread::sleep_for(1s);  // every worker's first look
    const long before = std::stol(scratch.text("SELECT n FROM claim_count"));
    std::this_thread::sleep_for(3s);
    const long looks = std::stol(scratch.text("SELECT n FROM claim_count")) - before;
    MESSAGE("claims in 3 s: " << looks);
    // One lookout every 100 ms: about 30; all 8 workers would make about 240.
    CHECK(looks >= 10);
    CHECK(looks <= 80);
}

TEST_CASE("a long delegation sweep holds back neither a new order nor the scheduler's stop") {
    ScratchDatabase scratch("sweep_scheduler");
    scratch.migrate();
    // The delegation zone's primary reads every update and answers none: each value the sweep
    // tries waits DNS_TIMEOUT (2 s). Values queued 4 days ago are given up after their one try
    // and the sweep goes on to the next: 20 a turn, 40 s, then the next 20.
    const std::string primary = splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES")).front();
    FakeNameservers silent({primary});
    const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()},
                                           {"SCHEDULER_WORKERS", "4"},
                                           {"DNS_UPDATE_SERVER", primary + ":53"},
                                           {"DNS_TIMEOUT", "2s"}});
    // Due only after the sweep's first turn (at start, with nothing due), so that the sweep
    // that takes them, 10 s later, is run by worker 0 as the idle workers' lookout.
    scratch.run("INSERT INTO delegation_cleanup (name, value, next_attempt_at, created_at) "
                "SELECT md5(i::text) || '." +
                requireEnv("DELEGATION_ZONE") +
                "', 'leftover' || i, now() + interval '5 s', now() - interval '4 days' "
                "FROM generate_series(1, 40) AS i");
    REQUIRE_MESSAGE(waitFor(20s, [&] { return silent.queries() > 0; }), describe(*scheduler));

    // A customer's issue order placed while the sweep runs: another worker takes it at once
    // (before, the others waited for the lookout, busy for the sweep's 40 s turn).
    const std::string orderId = insertDueIssueOrder(scratch, "sweep-order");
    const auto placed = std::chrono::steady_clock::now();
    CHECK_MESSAGE(waitFor(20s, [&] { return stepLogged(*scheduler, orderId); }),
                  describe(*scheduler));
    MESSAGE("first step logged "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - placed)
                   .count()
            << " ms after the order was placed; the sweep has tried " << silent.queries()
            << " values");

    // SIGTERM during the sweep: the value being tried is finished, the others are left queued
    // for the next sweep; the scheduler stops within systemd's TimeoutStopSec (60 s) and well
    // within terminate()'s 10 s (before, only after the sweep's turn).
    const auto asked = std::chrono::steady_clock::now();
    int status = -1;
    CHECK_NOTHROW(status = scheduler->terminate());
    CHECK(status == 0);
    const auto stopTook = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - asked);
    MESSAGE("stopped in " << stopTook.count() << " ms");
    CHECK(stopTook < 20s);  // the value under way (DNS_TIMEOUT), then the exit; 40 s before
    CHECK(scheduler->log().find("\"scheduler stopped\"") != std::string::npos);
    // Every value tried was given up; the rest wait, not claimed (their next attempt as queued).
    const int givenUp =
        std::stoi(scratch.text("SELECT count(*) FROM delegation_cleanup WHERE abandoned_at IS "
                               "NOT NULL"));
    CHECK(givenUp >= 1);
    CHECK(givenUp < 20);
    CHECK(scratch.text("SELECT count(*) FROM delegation_cleanup WHERE abandoned_at IS NULL "
                       "AND (attempts > 0 OR next_attempt_at > now())") == "0");
}
