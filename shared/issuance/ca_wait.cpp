#include "config/duration.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

StepResult waitForCa(StepContext& context, std::optional<std::chrono::seconds> retryAfter,
                     StepLabel label, const std::string& notDone) {
    const Config& config = context.config();
    if (context.order().stepAgeMs >= config.pollTimeout.count())
        return failOrder(FailureCode::Timeout, "the CA did not " + notDone + " within " +
                                                   formatDuration(config.pollTimeout));
    return pauseFor(caPollDelay(retryAfter, kCaPollDelay, config.pollInterval), label);
}

}  // namespace dnsh
