// An idle dns-scheduler does not have every worker look for due orders every 100 ms: one worker
// looks, the others wait to be woken (README "Certificate lifecycle", core/idle_polling.cpp).
// Counted in PostgreSQL itself: a statement trigger on acme_orders fires for every claim, also
// one that finds nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

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
