#include "issuance/order_step.hpp"

#include "core/enum_names.hpp"

namespace dnsh {

namespace {

constexpr EnumNames<OrderKind, 2> kKinds{{{
    {OrderKind::Issue, "issue"},
    {OrderKind::Renewal, "renewal"},
}}};

constexpr EnumNames<OrderStep, 6> kSteps{{{
    {OrderStep::PlaceOrder, "place_order"},
    {OrderStep::AwaitDns, "await_dns"},
    {OrderStep::AwaitAuthz, "await_authz"},
    {OrderStep::Finalize, "finalize"},
    {OrderStep::AwaitOrder, "await_order"},
    {OrderStep::Done, "done"},
}}};

}  // namespace

std::string_view toString(OrderKind kind) {
    return kKinds.toString(kind);
}
std::optional<OrderKind> parseOrderKind(std::string_view text) {
    return kKinds.parse(text);
}
std::string_view toString(OrderStep step) {
    return kSteps.toString(step);
}
std::optional<OrderStep> parseOrderStep(std::string_view text) {
    return kSteps.parse(text);
}

}  // namespace dnsh
