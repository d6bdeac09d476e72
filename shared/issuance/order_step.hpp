#pragma once
// What an order is for and where it stands: the scheduler's steps (DESIGN.md "Certificate
// lifecycle"), stored in acme_orders.kind / acme_orders.step.
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

std::string_view toString(OrderKind kind);
std::optional<OrderKind> parseOrderKind(std::string_view text);
std::string_view toString(OrderStep step);
std::optional<OrderStep> parseOrderStep(std::string_view text);

}  // namespace dnsh
