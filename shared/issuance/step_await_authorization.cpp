#include <algorithm>

#include "config/duration.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

StepResult awaitAuthorizationStep(StepContext& context) {
    const StoredOrder& order = context.order();
    bool allValid = true;
    std::optional<std::chrono::seconds> retryAfter;  // the longest the CA asked for
    for (const auto& challenge : order.challenges) {
        const acme::Authorization authorization = context.ca(
            [&] { return context.client().getAuthorization(challenge.authorizationUrl); });
        switch (authorization.status) {
            case acme::AuthorizationStatus::Valid:
                continue;
            case acme::AuthorizationStatus::Pending:
            case acme::AuthorizationStatus::Processing:
                allValid = false;
                if (authorization.retryAfter)
                    retryAfter = std::max(retryAfter.value_or(std::chrono::seconds(0)),
                                          *authorization.retryAfter);
                continue;
            default:
                return failOrder(FailureCode::CaInvalid,
                                 "the CA rejected the dns-01 challenge: " +
                                     (authorization.error.empty()
                                          ? std::string(acme::toString(authorization.status))
                                          : authorization.error));
        }
    }
    if (allValid) return moveOn(OrderStep::Finalize);
    const Config& config = context.config();
    if (order.stepAgeMs >= config.pollTimeout.count())
        return failOrder(FailureCode::Timeout, "the CA did not finish validating within " +
                                                   formatDuration(config.pollTimeout));
    return pauseFor(caPollDelay(retryAfter, kCaPollDelay, config.pollInterval),
                    StepLabel::AwaitAuthz);
}

}  // namespace dnsh
