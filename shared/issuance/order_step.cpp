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

constexpr EnumNames<StepLabel, 12> kLabels{{{
    {StepLabel::PlaceOrder, "place_order"},
    {StepLabel::AwaitDns, "await_dns"},
    {StepLabel::AwaitAuthz, "await_authz"},
    {StepLabel::Finalize, "finalize"},
    {StepLabel::AwaitOrder, "await_order"},
    {StepLabel::Done, "done"},
    {StepLabel::PlacedOrder, "placed_order"},
    {StepLabel::AnsweredChallenges, "answered_challenges"},
    {StepLabel::Valid, "valid"},
    {StepLabel::Failed, "failed"},
    {StepLabel::Replaced, "replaced"},
    {StepLabel::Error, "error"},
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

std::string_view toString(StepLabel label) {
    return kLabels.toString(label);
}

StepLabel labelOf(OrderStep step) {
    switch (step) {
        case OrderStep::PlaceOrder:
            return StepLabel::PlaceOrder;
        case OrderStep::AwaitDns:
            return StepLabel::AwaitDns;
        case OrderStep::AwaitAuthz:
            return StepLabel::AwaitAuthz;
        case OrderStep::Finalize:
            return StepLabel::Finalize;
        case OrderStep::AwaitOrder:
            return StepLabel::AwaitOrder;
        case OrderStep::Done:
            break;
    }
    return StepLabel::Done;
}

bool isPoll(StepLabel label) {
    return label == StepLabel::AwaitDns || label == StepLabel::AwaitAuthz ||
           label == StepLabel::AwaitOrder;
}

}  // namespace dnsh
