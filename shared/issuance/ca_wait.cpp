#include "config/duration.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

bool pastStepTimeout(const StoredOrder& order, const Config& config) {
    // An order newOrder gave no expiry (RFC 8555 §7.1.3 requires one of a pending order: a CA
    // that does not follow it) keeps POLL_TIMEOUT: some bound must end a wait the CA may never.
    if (order.step == OrderStep::AwaitOrder && order.hasExpiry) return false;
    return order.stepAgeMs >= config.pollTimeout.count();
}

StepResult waitForCa(StepContext& context, std::optional<std::chrono::seconds> retryAfter,
                     StepLabel label, const std::string& notDone) {
    const Config& config = context.config();
    if (pastStepTimeout(context.order(), config))
        return failOrder(FailureCode::Timeout, "the CA did not " + notDone + " within " +
                                                   formatDuration(config.pollTimeout));
    return pauseFor(caPollDelay(retryAfter, kCaPollDelay, config.pollInterval), label);
}

}  // namespace dnsh
