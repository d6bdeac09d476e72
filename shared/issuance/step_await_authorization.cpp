#include <algorithm>

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
    return waitForCa(context, retryAfter, StepLabel::AwaitAuthz, "finish validating");
}

}  // namespace dnsh
