// Durations in configuration: a positive integer and one unit (ms, s, m, h).
#include "config/duration.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dnsh;
using std::chrono::milliseconds;

TEST_CASE("parseDuration accepts a positive integer and one unit") {
    struct Case {
        std::string description;
        std::string text;
        milliseconds expected;
    };
    const std::vector<Case> cases{
        {"milliseconds", "500ms", milliseconds(500)},
        {"seconds", "10s", milliseconds(10'000)},
        {"minutes", "5m", milliseconds(300'000)},
        {"hours", "1h", milliseconds(3'600'000)},
        {"one millisecond", "1ms", milliseconds(1)},
        {"many hours", "48h", milliseconds(48LL * 3'600'000)},
        {"large seconds", "86400s", milliseconds(86'400'000)},
        {"100 years, the longest", "876000h", milliseconds(876'000LL * 3'600'000)},
        // Numbers past 10^9 were refused as "number too large", the documented most of
        // DB_STATEMENT_TIMEOUT and DB_LOCK_TIMEOUT among them.
        {"PostgreSQL's most, an int of milliseconds", "2147483647ms", milliseconds(2147483647)},
        {"17 days in milliseconds", "1500000000ms", milliseconds(1'500'000'000)},
        {"100 years in seconds", "3153600000s", milliseconds(3'153'600'000LL * 1000)},
        {"100 years in minutes", "52560000m", milliseconds(52'560'000LL * 60'000)},
        {"100 years in milliseconds", "3153600000000ms", milliseconds(3'153'600'000'000LL)},
        {"leading zeros past long long's digits", "00000000000000000000000010s",
         milliseconds(10'000)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        milliseconds result{};
        REQUIRE_NOTHROW(result = parseDuration(c.text));
        CHECK(result == c.expected);
    }
}

TEST_CASE("parseDuration rejects anything else with std::invalid_argument") {
    struct Case {
        std::string description;
        std::string text;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"number without unit", "10"},
        {"unit without number", "s"},
        {"negative", "-1s"},
        {"explicit plus sign", "+1s"},
        {"fraction", "1.5s"},
        {"space between number and unit", "10 s"},
        {"leading space", " 10s"},
        {"trailing space", "10s "},
        {"zero", "0s"},
        {"zero milliseconds", "0ms"},
        {"days are not a unit", "10d"},
        {"upper-case unit", "10S"},
        {"two units", "1h30m"},
        {"unit spelled out", "10sec"},
        {"microseconds", "10us"},
        {"overflowing number", "99999999999999999999s"},
        {"past long long in milliseconds", "9223372036854775808ms"},
        {"long long's most in hours", "9223372036854775807h"},
        // Multiplied by 3600000 it wraps past long long to 2048384 ms (34 minutes): the limit
        // is compared before the product is taken.
        {"a number of hours whose product wraps", "5124095576031h"},
        {"a number of seconds whose product wraps", "18446744073709552s"},
        {"a second past 100 years", "3153600001s"},
        {"a millisecond past 100 years", "3153600000001ms"},
        {"a minute past 100 years", "52560001m"},
        // Added to a clock, it would overflow steady_clock's nanoseconds (about 292 years) and
        // wrap into the past: before, accepted.
        {"over 100 years", "876001h"},
        {"meant as never", "9999999h"},
        {"a billion minutes", "1000000000m"},
        {"NUL after the unit", std::string("10s\0", 4)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        CHECK_THROWS_AS(parseDuration(c.text), std::invalid_argument);
    }
}

TEST_CASE("formatDuration uses the largest unit that divides evenly") {
    struct Case {
        std::string description;
        milliseconds duration;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"milliseconds", milliseconds(500), "500ms"},
        {"seconds", milliseconds(10'000), "10s"},
        {"minutes", milliseconds(300'000), "5m"},
        {"hours", milliseconds(3'600'000), "1h"},
        {"90 seconds stay seconds", milliseconds(90'000), "90s"},
        {"90 minutes stay minutes", milliseconds(5'400'000), "90m"},
        {"1500 ms stay milliseconds", milliseconds(1500), "1500ms"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(formatDuration(c.duration) == c.expected);
    }
}

TEST_CASE("formatDuration output parses back to the same duration") {
    const std::vector<milliseconds> durations{milliseconds(1), milliseconds(999),
                                              milliseconds(1000), milliseconds(61'000),
                                              milliseconds(7'200'000)};
    for (const auto& duration : durations) {
        CAPTURE(duration.count());
        CHECK(parseDuration(formatDuration(duration)) == duration);
    }
}
