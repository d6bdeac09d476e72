// RFC 9773 §4.3.3 error handling of renewalInfo requests: which errors are temporary (the CA
// not reached or its timeout spent, 5xx), which are a rate limit (429, rateLimited) and which
// are long-term (any other error answer, an answer that is not a RenewalInfo object), and when
// each is asked again: a temporary error after its Retry-After (clamped to 1 minute..6 hours) or
// 5 minutes, a rate limit after its Retry-After or 6 hours, a long-term error after 6 hours.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "acme/ari.hpp"
#include "acme/problem.hpp"

using namespace dnsh::acme;
using namespace std::chrono_literals;

namespace {

// What parseRenewalInfo throws for `body`, for the kind of a malformed answer.
std::runtime_error parseFailure(const std::string& body) {
    try {
        parseRenewalInfo(body);
    } catch (const std::runtime_error& e) {
        return e;
    }
    FAIL("parseRenewalInfo took " << body);
    return std::runtime_error("");
}

// The kind's name (temporary, rate_limited, long_term): what the logs show, and what doctest
// can print.
std::string kindOf(const std::exception& error) {
    return std::string(toString(ariErrorKind(error)));
}

}  // namespace

TEST_CASE("ariErrorKind sorts renewalInfo errors as RFC 9773 §4.3.3 does") {
    struct Case {
        const char* description;
        Problem problem;
        const char* expected;
    };
    const std::vector<Case> cases{
        {"not reached, or its timeout spent", {"", "timed out", 0}, "temporary"},
        {"500 serverInternal", {ProblemType::kServerInternal, "oops", 500}, "temporary"},
        {"502 without a problem document", {"", "HTTP 502", 502}, "temporary"},
        {"503 (a CA overloaded in a mass revocation)", {"", "HTTP 503", 503}, "temporary"},
        {"429 rateLimited", {ProblemType::kRateLimited, "slow down", 429}, "rate_limited"},
        {"429 without a problem document", {"", "HTTP 429", 429}, "rate_limited"},
        {"rateLimited with another status", {ProblemType::kRateLimited, "slow down", 403},
         "rate_limited"},
        {"404 malformed (an unknown CertID)", {ProblemType::kMalformed, "no such cert", 404},
         "long_term"},
        {"400 without a problem document", {"", "HTTP 400", 400}, "long_term"},
        {"403 unauthorized", {ProblemType::kUnauthorized, "no", 403}, "long_term"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(kindOf(AcmeError(c.problem, 60s)) == c.expected);
    }
    // §4.3.3 "RenewalInfo object is invalid": what the parser throws, not an AcmeError.
    CHECK(kindOf(parseFailure("{}")) == "long_term");
    CHECK(kindOf(parseFailure("not json")) == "long_term");
    CHECK(kindOf(std::runtime_error("ARI CertID: no AKI")) == "long_term");
}

TEST_CASE("ariErrorRetry: a temporary error is asked again as its Retry-After says, or in "
          "minutes, a long-term one in six hours (RFC 9773 §4.3.3)") {
    struct Case {
        const char* description;
        AriErrorKind kind;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::seconds expected;
    };
    const std::vector<Case> cases{
        // The mass revocation: a CA answering 503 with Retry-After: 60 is asked a minute later,
        // not after the six hours of a long-term error.
        {"503 with Retry-After: 60", AriErrorKind::Temporary, 60s, 60s},
        {"temporary without Retry-After: five minutes", AriErrorKind::Temporary, std::nullopt,
         5min},
        {"temporary, negative Retry-After is invalid: as absent", AriErrorKind::Temporary, -5s,
         5min},
        {"temporary, Retry-After: 0 is raised to one minute", AriErrorKind::Temporary, 0s, 1min},
        {"temporary, 30 s is raised to one minute", AriErrorKind::Temporary, 30s, 1min},
        {"temporary, two hours is kept", AriErrorKind::Temporary, 2h, 2h},
        {"temporary, a day is lowered to six hours", AriErrorKind::Temporary, 24h, 6h},
        {"429 with Retry-After: 120", AriErrorKind::RateLimited, 120s, 120s},
        {"429 without Retry-After: long-term, six hours", AriErrorKind::RateLimited,
         std::nullopt, 6h},
        {"429, a week is lowered to six hours", AriErrorKind::RateLimited,
         std::chrono::seconds(7 * 86400), 6h},
        {"long-term: six hours", AriErrorKind::LongTerm, std::nullopt, 6h},
        {"long-term: six hours whatever its Retry-After", AriErrorKind::LongTerm, 60s, 6h},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(ariErrorRetry(c.kind, c.retryAfter) == c.expected);
    }
}
