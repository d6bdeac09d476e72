#include "issuance/backoff.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "acme/transport.hpp"

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

TEST_CASE("retryDelay honours the CA's Retry-After only up to a bound (RFC 8555 §6.6)") {
    struct Case {
        std::string description;
        RetryAfterKind kind;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::milliseconds expected;
    };
    constexpr auto poll = RetryAfterKind::Poll;
    constexpr auto rateLimit = RetryAfterKind::RateLimit;
    const std::vector<Case> cases{
        {"an hour is honoured", poll, std::chrono::seconds(3600), 1h},
        {"an hour and a second is an hour", poll, std::chrono::seconds(3601), 1h},
        {"a day is an hour", poll, std::chrono::seconds(86400), 1h},
        {"999,999,999 s (31 years) is an hour", poll, std::chrono::seconds(999999999), 1h},
        {"the largest seconds value is an hour", poll, std::chrono::seconds::max(), 1h},
        {"none: the backoff", poll, std::nullopt, 10s},
        {"zero: the backoff", poll, std::chrono::seconds(0), 10s},
        {"negative: the backoff", poll, std::chrono::seconds(-5), 10s},
        {"rate limit: an hour is honoured", rateLimit, std::chrono::seconds(3600), 1h},
        {"rate limit: a day is honoured", rateLimit, std::chrono::seconds(86400), 24h},
        {"rate limit: a week is a day", rateLimit, std::chrono::seconds(7 * 86400), 24h},
        {"rate limit: 999,999,999 s is a day", rateLimit, std::chrono::seconds(999999999), 24h},
        {"rate limit: the largest value is a day", rateLimit, std::chrono::seconds::max(), 24h},
        {"rate limit: none, the backoff", rateLimit, std::nullopt, 10s},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(retryDelay(10s, 1, c.retryAfter, 5min, c.kind) == c.expected);
    }
    // The default kind is the shorter bound.
    CHECK(retryDelay(10s, 1, std::chrono::seconds(999999999)) == kMaxPollRetryAfter);
    CHECK(kMaxPollRetryAfter == 1h);
    CHECK(kMaxRateLimitRetryAfter == 24h);
}

TEST_CASE("parseRetryAfter reads delay-seconds, saturating instead of truncating") {
    struct Case {
        std::string description, header;
        std::optional<std::chrono::seconds> expected;
    };
    const std::vector<Case> cases{
        {"absent", "", std::nullopt},
        {"zero", "0", std::chrono::seconds(0)},
        {"two minutes", "120", std::chrono::seconds(120)},
        {"nine digits", "999999999", std::chrono::seconds(999999999)},
        {"ten digits saturate (not 123456789)", "1234567890", std::chrono::seconds(999999999)},
        {"forty digits", std::string(40, '9'), std::chrono::seconds(999999999)},
        {"negative", "-1", std::nullopt},
        {"a fraction", "1.5", std::nullopt},
        {"spaces", " 120", std::nullopt},
        {"an HTTP-date past", "Fri, 31 Dec 1999 23:59:59 GMT", std::chrono::seconds(0)},
        {"a date in another format", "1999-12-31T23:59:59Z", std::nullopt},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(acme::parseRetryAfter(c.header) == c.expected);
    }
}

TEST_CASE("parseRetryAfter reads an HTTP-date as the wait from now (Pebble sends either form)") {
    // RFC 9110 §5.6.7 IMF-fixdate; 2026-12-03T09:00:00Z is a Thursday.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796288400));
    struct Case {
        std::string description, header;
        std::optional<std::chrono::seconds> expected;
    };
    const std::vector<Case> cases{
        {"three seconds ahead", "Thu, 03 Dec 2026 09:00:03 GMT", std::chrono::seconds(3)},
        {"an hour ahead", "Thu, 03 Dec 2026 10:00:00 GMT", std::chrono::seconds(3600)},
        {"now", "Thu, 03 Dec 2026 09:00:00 GMT", std::chrono::seconds(0)},
        {"a second ago", "Thu, 03 Dec 2026 08:59:59 GMT", std::chrono::seconds(0)},
        {"not a date", "Thu, 33 Foo 2026 09:00:00 GMT", std::nullopt},
        {"not GMT", "Thu, 03 Dec 2026 09:00:03 +0100", std::nullopt},
        {"RFC 850's obsolete form", "Thursday, 03-Dec-26 09:00:03 GMT", std::nullopt},
        // Past system_clock's nanoseconds (2262): the longest wait, as delay-seconds saturate,
        // not a time point wrapped into the past ("ask again now").
        {"the year 9999", "Fri, 31 Dec 9999 23:59:59 GMT", std::chrono::seconds(999999999)},
        {"the year 2263", "Mon, 01 Jan 2263 00:00:00 GMT", std::chrono::seconds(999999999)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(acme::parseRetryAfter(c.header, now) == c.expected);
    }
    // Part of a second ahead is a whole second: never sooner than asked.
    const auto halfSecondEarlier = now - std::chrono::milliseconds(500);
    CHECK(acme::parseRetryAfter("Thu, 03 Dec 2026 09:00:01 GMT", halfSecondEarlier) ==
          std::chrono::seconds(2));
}

TEST_CASE("caPollDelay: the CA's Retry-After on a poll, between 250 ms and POLL_INTERVAL") {
    struct Case {
        std::string description;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::milliseconds pollInterval;
        std::chrono::milliseconds expected;
    };
    const std::vector<Case> cases{
        {"none: the scheduler's own pace", std::nullopt, 10s, 250ms},
        {"0: not sooner than the scheduler's pace", 0s, 10s, 250ms},
        {"3 s honoured", 3s, 10s, 3s},
        {"an hour: at most POLL_INTERVAL", 3600s, 10s, 10s},
        {"a POLL_INTERVAL shorter than the pace", 3s, 100ms, 250ms},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(caPollDelay(c.retryAfter, 250ms, c.pollInterval) == c.expected);
    }
}

TEST_CASE("issuingPollDelay: an order issuing past POLL_TIMEOUT, polled as the CA's Retry-After "
          "says, between POLL_INTERVAL and an hour") {
    struct Case {
        std::string description;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::milliseconds expected;
    };
    const std::vector<Case> cases{
        {"none: POLL_INTERVAL", std::nullopt, 10s},
        {"0: POLL_INTERVAL", 0s, 10s},
        {"shorter than POLL_INTERVAL: POLL_INTERVAL", 3s, 10s},
        {"ten minutes honoured", 600s, 600s},
        // ZeroSSL's on a processing order: 24 polls a day, not 8,640.
        {"a day: at most kMaxPollRetryAfter", 86400s, kMaxPollRetryAfter},
        {"a negative one: POLL_INTERVAL", -5s, 10s},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(issuingPollDelay(c.retryAfter, 10s) == c.expected);
    }
}
