#include "crypto/certificate.hpp"
#include "domain/domain_name.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

StepResult finalizeStep(StepContext& context) {
    const StoredOrder& order = context.order();
    const Pkey& key = context.certificateKey();
    // Read before writing: after a lost answer to finalize (never re-sent) the order shows
    // whether the CA took it.
    const acme::Order current = context.ca([&] { return context.client().getOrder(order.orderUrl); });
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
        case acme::OrderStatus::Processing:
        case acme::OrderStatus::Valid:
            break;  // finalize already happened (before a restart)
        default:
            return failOrder(FailureCode::CaInvalid,
                             "the CA marked the order " +
                                 std::string(acme::toString(current.status)) +
                                 (current.error.empty() ? "" : ": " + current.error));
    }
    return moveOn(OrderStep::AwaitOrder);
}

}  // namespace dnsh
