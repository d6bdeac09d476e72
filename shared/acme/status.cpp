#include "acme/status.hpp"

#include "core/enum_names.hpp"

namespace dnsh::acme {

namespace {

constexpr EnumNames<OrderStatus, 5> kOrder{{{
    {OrderStatus::Pending, "pending"},
    {OrderStatus::Ready, "ready"},
    {OrderStatus::Processing, "processing"},
    {OrderStatus::Valid, "valid"},
    {OrderStatus::Invalid, "invalid"},
}}};

constexpr EnumNames<AuthorizationStatus, 7> kAuthorization{{{
    {AuthorizationStatus::Pending, "pending"},
    {AuthorizationStatus::Processing, "processing"},
    {AuthorizationStatus::Valid, "valid"},
    {AuthorizationStatus::Invalid, "invalid"},
    {AuthorizationStatus::Deactivated, "deactivated"},
    {AuthorizationStatus::Expired, "expired"},
    {AuthorizationStatus::Revoked, "revoked"},
}}};

constexpr EnumNames<ChallengeStatus, 4> kChallenge{{{
    {ChallengeStatus::Pending, "pending"},
    {ChallengeStatus::Processing, "processing"},
    {ChallengeStatus::Valid, "valid"},
    {ChallengeStatus::Invalid, "invalid"},
}}};

}  // namespace

std::string_view toString(OrderStatus status) {
    return kOrder.toString(status);
}
std::string_view toString(AuthorizationStatus status) {
    return kAuthorization.toString(status);
}
std::string_view toString(ChallengeStatus status) {
    return kChallenge.toString(status);
}

OrderStatus parseOrderStatus(std::string_view text) {
    return kOrder.parse(text).value_or(OrderStatus::Unknown);
}
AuthorizationStatus parseAuthorizationStatus(std::string_view text) {
    return kAuthorization.parse(text).value_or(AuthorizationStatus::Unknown);
}
ChallengeStatus parseChallengeStatus(std::string_view text) {
    return kChallenge.parse(text).value_or(ChallengeStatus::Unknown);
}

}  // namespace dnsh::acme
