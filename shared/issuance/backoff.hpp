#pragma once
// How long the scheduler waits before retrying a CA call that failed in a retryable way.
#include <chrono>
#include <optional>

#include "core/failure_code.hpp"

namespace dnsh {

// The CA's Retry-After (RFC 8555 §6.6; delay-seconds, RFC 9110 §10.2.3) is honoured up to a bound:
// a CA, or a proxy in front of it, saying 999,999,999 s would otherwise park an order for 31
// years, long past POLL_TIMEOUT and the CA order's own expiry.
enum class RetryAfterKind {
    Poll,       // a retryable error while polling or calling (5xx, serverInternal, unreachable)
    RateLimit,  // urn:ietf:params:acme:error:rateLimited (error_code ca_rate_limited)
};
inline constexpr std::chrono::seconds kMaxPollRetryAfter = std::chrono::hours(1);
inline constexpr std::chrono::seconds kMaxRateLimitRetryAfter = std::chrono::hours(24);
// An API answer's Retry-After when a CA did not answer (or answered 5xx) without one:
// issue-certificate's 502, and POST /domains' when a directory could not be read.
inline constexpr std::chrono::seconds kCaUnreachableRetryAfter{30};

// How soon an order or authorization the CA is still working on (pending, processing) is polled
// again: `shortest` (the scheduler's own pace) unless the CA's Retry-After asks for longer
// (RFC 8555 §7.4, §7.5.1), at most `pollInterval` (POLL_INTERVAL): a CA asking for an hour (or a
// proxy's stray header) must not park an order past POLL_TIMEOUT while it is done in seconds.
std::chrono::milliseconds caPollDelay(std::optional<std::chrono::seconds> retryAfter,
                                      std::chrono::milliseconds shortest,
                                      std::chrono::milliseconds pollInterval);

// How soon an order the CA has been issuing for longer than POLL_TIMEOUT (await_order; it has an
// expiry, else it failed) is polled again: the CA's Retry-After honoured (RFC 8555 §7.4) up to
// kMaxPollRetryAfter, at least `pollInterval`. Such a CA issues in hours, not seconds (ZeroSSL
// answers Retry-After: 86400 on a processing order): polled at caPollDelay's pace (8,640 times a
// day at POLL_INTERVAL 10s) it may answer rateLimited, and those spend the order's kMaxAttempts.
std::chrono::milliseconds issuingPollDelay(std::optional<std::chrono::seconds> retryAfter,
                                           std::chrono::milliseconds pollInterval);

// issue-certificate on a domain whose issuance failed: ISSUE_RETRY_BACKOFF doubled per failure in
// a row, at most this (README "How issuance and renewal work").
inline constexpr std::chrono::milliseconds kMaxIssueRetryBackoff = std::chrono::hours(6);

// `requested` bounded by the kind's maximum; 0 for a negative one.
std::chrono::seconds clampRetryAfter(std::chrono::seconds requested, RetryAfterKind kind);

// pollInterval doubled per retry (1st retry: pollInterval), capped at `cap`, never shorter than
// the CA's Retry-After once clamped (clampRetryAfter).
std::chrono::milliseconds retryDelay(std::chrono::milliseconds pollInterval, int retries,
                                     std::optional<std::chrono::seconds> retryAfter,
                                     std::chrono::milliseconds cap = std::chrono::minutes(5),
                                     RetryAfterKind kind = RetryAfterKind::Poll);

// Errors one order may meet: retryable ones (CA errors, DNS updates, lookups), and (fewer)
// anything unexpected (error_code internal); others fail the order at once.
inline constexpr int kMaxAttempts = 16;
inline constexpr int kMaxUnexpectedAttempts = 3;

struct RetryVerdict {
    bool again;                     // else the order fails with the error
    RetryAfterKind retryAfterKind;  // how far the CA's Retry-After is honoured
};

// Whether an order's step is tried again after an error that made `attempts` in all: retryable
// errors until kMaxAttempts or the step's time (POLL_TIMEOUT, or in await_order a day:
// pastStepTimeout), unexpected ones kMaxUnexpectedAttempts.
RetryVerdict retryVerdict(FailureCode code, bool retryable, int attempts, bool pastPollTimeout);

}  // namespace dnsh
