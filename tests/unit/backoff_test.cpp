#include "issuance/backoff.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace dnsh;
using namespace std::chrono_literals;

TEST_CASE("retryDelay doubles per retry from POLL_INTERVAL, capped, never under Retry-After") {
    struct Case {
        std::string description;
        std::chrono::milliseconds interval;
        int retries;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::milliseconds expected;
    };
    const std::vector<Case> cases{
        {"first retry waits one interval", 10s, 1, std::nullopt, 10s},
        {"second retry doubles", 10s, 2, std::nullopt, 20s},
        {"fifth retry", 100ms, 5, std::nullopt, 1600ms},
        {"capped at five minutes", 10s, 20, std::nullopt, 5min},
        {"huge retry counts stay capped", 10s, 100000, std::nullopt, 5min},
        {"Retry-After longer than the backoff wins", 1s, 1, std::chrono::seconds(30), 30s},
        {"Retry-After shorter than the backoff loses", 10s, 3, std::chrono::seconds(5), 40s},
        {"Retry-After beyond the cap is honoured", 10s, 1, std::chrono::seconds(3600), 1h},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(retryDelay(c.interval, c.retries, c.retryAfter) == c.expected);
    }
}
