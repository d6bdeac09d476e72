// A metrics flush (metrics/flusher.hpp) whose COMMIT reached PostgreSQL and committed, its answer
// lost on the way back: the flusher cannot tell, and sends the batch again at the next cycle.
// The counts must be added once (032_metric_counter_batches.sql), not twice: /metrics counters
// (requests, issuances, failures) jumped by the whole batch. Through PgProxy to a scratch
// database of the test server.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/metric_registry.hpp"
#include "crypto/random.hpp"
#include "metrics/flusher.hpp"
#include "support/pg_proxy.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE("fault: a metrics flush whose COMMIT answer is lost is retried and counted once") {
    ScratchDatabase scratch("dnsh_metric_lost_commit");
    scratch.migrate();
    // The proxy loses the answer "COMMIT" (its CommandComplete), only after the server committed.
    PgProxy proxy("COMMIT");
    // libpq takes the last of a repeated keyword: through the proxy, to the scratch database.
    const std::string url =
        proxy.databaseUrl() + " dbname='" + scratch.text("SELECT current_database()") + "'";
    const std::string name = "dnsh_test_lost_commit_total";
    const std::string stored = "SELECT coalesce(sum(value), 0)::bigint FROM metric_counters "
                               "WHERE name = '" + name + "'";
    takeCounterDeltas();  // whatever this process counted before: not this case's
    constexpr int kBefore = 3, kAfter = 2;
    for (int i = 0; i < kBefore; ++i) countEvent(name);
    {
        // The first cycle runs at once: its COMMIT answer is the one lost.
        const MetricsFlusher flusher(url, DatabaseLimits{}, 100ms);
        for (int i = 0; i < 100 && proxy.droppedReplies() == 0; ++i)
            std::this_thread::sleep_for(100ms);
        REQUIRE(proxy.droppedReplies() == 1);
        // Counted after the loss (one event, so that no cycle splits them): they go in a batch
        // of their own, sent only once the lost one is settled, so seeing them stored means the
        // retry has run (bounded: 10 s).
        countEvent(name, {}, kAfter);
        for (int i = 0; i < 100 && scratch.text(stored) == std::to_string(kBefore); ++i)
            std::this_thread::sleep_for(100ms);
        std::this_thread::sleep_for(300ms);  // a few cycles more: nothing else may be added
    }
    // Before: the lost batch was put back and added again, with the later counts: 8.
    CHECK(scratch.text(stored) == std::to_string(kBefore + kAfter));
    // One row for the flusher, at its second batch (the retry of the first stored nothing).
    CHECK(scratch.text("SELECT string_agg(batch::text, ',') FROM metric_counter_batches") == "2");
}
