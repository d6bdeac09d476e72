#include "issuance/backoff.hpp"

#include <algorithm>

namespace dnsh {

std::chrono::seconds clampRetryAfter(std::chrono::seconds requested, RetryAfterKind kind) {
    const std::chrono::seconds most =
        kind == RetryAfterKind::RateLimit ? kMaxRateLimitRetryAfter : kMaxPollRetryAfter;
    return std::clamp(requested, std::chrono::seconds(0), most);
}

std::chrono::milliseconds retryDelay(std::chrono::milliseconds pollInterval, int retries,
                                     std::optional<std::chrono::seconds> retryAfter,
                                     std::chrono::milliseconds cap, RetryAfterKind kind) {
    std::chrono::milliseconds delay = pollInterval;
    for (int i = 1; i < retries && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    if (retryAfter)
        delay = std::max<std::chrono::milliseconds>(delay, clampRetryAfter(*retryAfter, kind));
    return delay;
}

std::chrono::milliseconds caPollDelay(std::optional<std::chrono::seconds> retryAfter,
                                      std::chrono::milliseconds shortest,
                                      std::chrono::milliseconds pollInterval) {
    if (!retryAfter) return shortest;
    return std::clamp<std::chrono::milliseconds>(*retryAfter, shortest,
                                                 std::max(shortest, pollInterval));
}

std::chrono::milliseconds issuingPollDelay(std::optional<std::chrono::seconds> retryAfter,
                                           std::chrono::milliseconds pollInterval) {
    if (!retryAfter) return pollInterval;
    return std::max<std::chrono::milliseconds>(pollInterval,
                                               clampRetryAfter(*retryAfter, RetryAfterKind::Poll));
}

RetryVerdict retryVerdict(FailureCode code, bool retryable, int attempts, bool pastPollTimeout) {
    const bool again = retryable ? attempts < kMaxAttempts && !pastPollTimeout
                                 : code == FailureCode::Internal && attempts < kMaxUnexpectedAttempts;
    return {again, code == FailureCode::CaRateLimited ? RetryAfterKind::RateLimit
                                                      : RetryAfterKind::Poll};
}

}  // namespace dnsh
