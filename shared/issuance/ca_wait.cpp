#include <algorithm>

#include "config/duration.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

std::chrono::milliseconds stepTimeLimit(const StoredOrder& order, const Config& config) {
    // An order newOrder gave no expiry (RFC 8555 §7.1.3 requires one of a pending order: a CA
    // that does not follow it) keeps POLL_TIMEOUT: some bound must end a wait the CA may never.
    if (order.step != OrderStep::AwaitOrder || !order.hasExpiry) return config.pollTimeout;
    return std::max<std::chrono::milliseconds>(config.pollTimeout, kMaxIssuingWait);
}

bool pastStepTimeout(const StoredOrder& order, const Config& config) {
    return order.stepAgeMs >= stepTimeLimit(order, config).count();
}

StepResult waitForCa(StepContext& context, std::optional<std::chrono::seconds> retryAfter,
                     StepLabel label, const std::string& notDone) {
    const Config& config = context.config();
    const StoredOrder& order = context.order();
    if (pastStepTimeout(order, config))
        return failOrder(FailureCode::Timeout, "the CA did not " + notDone + " within " +
                                                   formatDuration(stepTimeLimit(order, config)));
    // Still waited on past POLL_TIMEOUT: an order the CA is issuing, at the CA's pace now.
    if (order.step == OrderStep::AwaitOrder && order.stepAgeMs >= config.pollTimeout.count())
        return pauseFor(issuingPollDelay(retryAfter, config.pollInterval), label);
    return pauseFor(caPollDelay(retryAfter, kCaPollDelay, config.pollInterval), label);
}

}  // namespace dnsh
