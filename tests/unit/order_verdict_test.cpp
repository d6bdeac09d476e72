// The closed sets of the issuance engine (error_codes, step labels) and its retry verdict.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/failure_code.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_step.hpp"
#include "issuance/order_steps.hpp"

using namespace dnsh;
using namespace std::chrono_literals;

TEST_CASE("FailureCode: every error_code of the API spelled once, both ways") {
    // Every code of kFailureCodeNames (the documents' lists: error_code_docs_test.cpp).
    // already_registered and idempotency_key_reused are POST /domains' (409, 422).
    const std::vector<std::pair<FailureCode, std::string>> cases{
        {FailureCode::TxtNotFound, "txt_not_found"},
        {FailureCode::TxtMismatch, "txt_mismatch"},
        {FailureCode::CnameMismatch, "cname_mismatch"},
        {FailureCode::DnsNxdomain, "dns_nxdomain"},
        {FailureCode::DnsServfail, "dns_servfail"},
        {FailureCode::DnsTimeout, "dns_timeout"},
        {FailureCode::DnsAddressNotAllowed, "dns_address_not_allowed"},
        {FailureCode::DnsUpdateRefused, "dns_update_refused"},
        {FailureCode::CaUnreachable, "ca_unreachable"},
        {FailureCode::CaRefused, "ca_refused"},
        {FailureCode::CaInvalid, "ca_invalid"},
        {FailureCode::CaRateLimited, "ca_rate_limited"},
        {FailureCode::InvalidProfile, "invalid_profile"},
        {FailureCode::CaAccount, "ca_account"},
        {FailureCode::NoCaAvailable, "no_ca_available"},
        {FailureCode::Timeout, "timeout"},
        {FailureCode::DelegationLost, "delegation_lost"},
        {FailureCode::CaaForbidden, "caa_forbidden"},
        {FailureCode::AlreadyRegistered, "already_registered"},
        {FailureCode::IdempotencyKeyReused, "idempotency_key_reused"},
        {FailureCode::Internal, "internal"},
    };
    for (const auto& [code, name] : cases) {
        CAPTURE(name);
        CHECK(std::string(toString(code)) == name);
        // Compared outside CHECK: doctest would stringify through dnsh::toString.
        const bool roundTrips = parseFailureCode(name) == code;
        CHECK(roundTrips);
    }
    CHECK(cases.size() == kFailureCodeNames.names.size());
    CHECK_FALSE(parseFailureCode("found").has_value());
}

TEST_CASE("StepLabel: the step log line's names, and only the await steps' polls are debug") {
    const std::vector<std::pair<StepLabel, std::string>> cases{
        {StepLabel::PlaceOrder, "place_order"},
        {StepLabel::AwaitDns, "await_dns"},
        {StepLabel::AwaitAuthz, "await_authz"},
        {StepLabel::Finalize, "finalize"},
        {StepLabel::AwaitOrder, "await_order"},
        {StepLabel::Done, "done"},
        {StepLabel::PlacedOrder, "placed_order"},
        {StepLabel::AnsweredChallenges, "answered_challenges"},
        {StepLabel::Valid, "valid"},
        {StepLabel::Failed, "failed"},
        {StepLabel::Replaced, "replaced"},
        {StepLabel::Error, "error"},
    };
    for (const auto& [label, name] : cases) {
        CAPTURE(name);
        CHECK(std::string(toString(label)) == name);
        CHECK(isPoll(label) == (name.rfind("await_", 0) == 0));
    }
    for (const OrderStep step : {OrderStep::PlaceOrder, OrderStep::AwaitDns, OrderStep::AwaitAuthz,
                                 OrderStep::Finalize, OrderStep::AwaitOrder, OrderStep::Done})
    {
        const bool sameName = toString(labelOf(step)) == toString(step);
        CHECK(sameName);
    }
}

TEST_CASE("retryVerdict: retryable errors until the attempts or POLL_TIMEOUT run out, "
          "unexpected ones a few times, others never") {
    struct Case {
        std::string description;
        FailureCode code;
        bool retryable;
        int attempts;
        bool pastPollTimeout;
        bool again;
    };
    const std::vector<Case> cases{
        {"a CA outage is retried", FailureCode::CaUnreachable, true, 1, false, true},
        {"up to the last attempt", FailureCode::CaUnreachable, true, kMaxAttempts - 1, false, true},
        {"not past it", FailureCode::CaUnreachable, true, kMaxAttempts, false, false},
        {"not past POLL_TIMEOUT", FailureCode::DnsUpdateRefused, true, 1, true, false},
        {"an unexpected error a few times", FailureCode::Internal, false, 1, false, true},
        {"then it fails", FailureCode::Internal, false, kMaxUnexpectedAttempts, false, false},
        {"a refusal that will not change is not retried", FailureCode::CaRefused, false, 1,
         false, false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(retryVerdict(c.code, c.retryable, c.attempts, c.pastPollTimeout).again == c.again);
    }
    const bool rateLimited = retryVerdict(FailureCode::CaRateLimited, true, 1, false)
                                 .retryAfterKind == RetryAfterKind::RateLimit;
    CHECK(rateLimited);
    const bool polled =
        retryVerdict(FailureCode::CaUnreachable, true, 1, false).retryAfterKind ==
        RetryAfterKind::Poll;
    CHECK(polled);
}

TEST_CASE("stepTimeLimit: POLL_TIMEOUT, but a day in await_order for an order the CA gave an "
          "expiry") {
    Config config;
    config.pollTimeout = 5min;
    StoredOrder order;
    order.hasExpiry = true;
    order.step = OrderStep::AwaitAuthz;
    CHECK(stepTimeLimit(order, config) == 5min);
    order.step = OrderStep::AwaitOrder;
    CHECK(stepTimeLimit(order, config) == 24h);
    order.stepAgeMs = std::chrono::milliseconds(23h).count();
    CHECK_FALSE(pastStepTimeout(order, config));  // issuing for hours: polled on
    order.stepAgeMs = std::chrono::milliseconds(24h).count();
    CHECK(pastStepTimeout(order, config));  // before, only the expiry (2099 at some CAs) ended it
    config.pollTimeout = 48h;  // a POLL_TIMEOUT longer than a day is not cut short
    CHECK(stepTimeLimit(order, config) == 48h);
    order.hasExpiry = false;  // no bound of the CA's: POLL_TIMEOUT
    config.pollTimeout = 5min;
    CHECK(stepTimeLimit(order, config) == 5min);
}
