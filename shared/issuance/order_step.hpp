#pragma once
// What an order is for and where it stands: the scheduler's steps (README "How issuance and
// renewal work"), stored in acme_orders.kind / acme_orders.step.
#include <optional>
#include <string_view>

namespace dnsh {

enum class OrderKind { Issue, Renewal };

enum class OrderStep {
    PlaceOrder,  // renewals and replacements: the CA order is not placed yet
    AwaitDns,    // the TXT values are not visible yet
    AwaitAuthz,  // challenges answered; the CA validates
    Finalize,    // certificate key persisted, CSR sent
    AwaitOrder,  // the CA issues; then download and store
    Done,
};

// What a scheduler step did, as its "step" log line says: the step it polled or retried (an
// OrderStep's name), or what it moved the order to.
enum class StepLabel {
    PlaceOrder,
    AwaitDns,
    AwaitAuthz,
    Finalize,
    AwaitOrder,
    Done,
    PlacedOrder,         // the CA order and its challenges are stored
    AnsweredChallenges,  // every value seen; the CA validates now
    Valid,               // the certificate is stored
    Failed,
    Replaced,
    Error,  // the step threw past the runner (the database failed mid-step)
};

std::string_view toString(OrderKind kind);
std::optional<OrderKind> parseOrderKind(std::string_view text);
std::string_view toString(OrderStep step);
std::optional<OrderStep> parseOrderStep(std::string_view text);
std::string_view toString(StepLabel label);
// The label of a step polled or retried in `step`.
StepLabel labelOf(OrderStep step);
// A poll that found nothing new yet (logged at debug level), not a move of the order.
bool isPoll(StepLabel label);

}  // namespace dnsh
