#include "crypto/certificate.hpp"
#include "domain/domain_name.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

StepResult finalizeStep(StepContext& context) {
    const StoredOrder& order = context.order();
    const Pkey& key = context.certificateKey();
    // Read before writing: after a lost answer to finalize (never re-sent) the order shows
    // whether the CA took it.
    const acme::Order current =
        context.ca([&] { return context.client().getOrder(order.orderUrl); });
    // Finalize already happened (a lost answer, a restart): awaitOrderStep downloads what the
    // CA issued, also past the order's expiry. Else an expired order cannot be finalized
    // (RFC 8555 §7.1.6: it is invalid): replaced, not failed for the status it shows.
    if (current.status == acme::OrderStatus::Processing ||
        current.status == acme::OrderStatus::Valid)
        return moveOn(OrderStep::AwaitOrder);
    if (order.expired) return expiredOrder(order);
    switch (current.status) {
        case acme::OrderStatus::Ready:
            context.ca([&] {
                return context.client().finalize(
                    current, makeCsrDer(key.get(), certificateNames(order.domainName)));
            });
            break;
        case acme::OrderStatus::Pending:
            // Every authorization is valid, yet the CA has not made the order ready (RFC 8555
            // §7.1.6: it should have). Waited on as long as any other step of the CA's, not until
            // the order expires (a week at some CAs).
            return waitForCa(context, current.retryAfter, StepLabel::Finalize,
                             "make the order ready");
        default:
            return failOrder(FailureCode::CaInvalid,
                             "the CA marked the order " +
                                 std::string(acme::toString(current.status)) +
                                 (current.error.empty() ? "" : ": " + current.error));
    }
    return moveOn(OrderStep::AwaitOrder);
}

}  // namespace dnsh
