// MetricsFlusher (metrics/flusher.hpp) against a scratch database of the test server: what a
// process counted reaches metric_counters once, whatever else the flush cycle does.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/metric_registry.hpp"
#include "metrics/flusher.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

TEST_CASE("metrics flush: counts stored once when the cycle's other work fails after them") {
    ScratchDatabase scratch("dnsh_metric_flush");
    scratch.migrate();
    const std::string stored =
        "SELECT coalesce(sum(value), 0)::bigint FROM metric_counters WHERE name = "
        "'dnsh_test_flush_total'";
    std::atomic<int> cycles{0};
    {
        // Every cycle's work fails, as the scheduler's heartbeat does when PostgreSQL refuses it
        // (a statement or lock timeout) after the counts were committed.
        const MetricsFlusher flusher(scratch.url(), DatabaseLimits{},
                                     std::chrono::milliseconds(100),
                                     [&](Poco::Data::Session&) {
                                         ++cycles;
                                         throw std::runtime_error("heartbeat refused");
                                     });
        countEvent("dnsh_test_flush_total");
        // Several cycles after the count (bounded: 10 s).
        for (int i = 0; i < 100 && cycles < 5; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(cycles >= 5);
    CHECK(scratch.text(stored) == "1");
}
