// A handler stopped the way lighttpd stops it (SIGTERM) finishes and flushes what it counted
// (metrics/flusher.hpp): with METRICS_FLUSH_INTERVAL at an hour, only the flush at exit can put
// the requests into metric_counters.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE("fault: a handler stopped with SIGTERM flushes its counts before it exits") {
    // PATCH /readyz: 405 from the health handler, a series no other case produces.
    const std::string series =
        "name = 'dnsh_http_requests_total' AND "
        "labels = 'route=\"/readyz\",method=\"PATCH\",status=\"405\"'";
    const auto stored = [&] {
        const std::string value = scalar("SELECT value FROM metric_counters WHERE " + series);
        return value.empty() ? 0.0 : std::stod(value);
    };
    ApiServer server("metrics-exit", {{"METRICS_FLUSH_INTERVAL", "1h"}});
    const double before = stored();
    constexpr int kRequests = 7;
    for (int i = 0; i < kRequests; ++i)
        CHECK(send(server.baseUrl(), {"PATCH", "/readyz", "", "", {}}).status == 405);
    CHECK(stored() == before);  // nothing flushed yet: the interval is an hour

    const auto handlers = server.handlerProcesses("health");
    REQUIRE_FALSE(handlers.empty());
    for (const pid_t pid : handlers) ::kill(pid, SIGTERM);
    const bool exited = waitFor(10s, [&] {
        for (const pid_t pid : handlers)
            if (std::filesystem::exists("/proc/" + std::to_string(pid) + "/exe")) return false;
        return true;
    });
    CHECK(exited);
    CHECK(stored() == before + kRequests);
}
