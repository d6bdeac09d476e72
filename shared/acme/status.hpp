#pragma once
// RFC 8555 §7.1.6 status values of orders, authorizations and challenges, as enums: callers
// switch on them instead of comparing strings.
#include <optional>
#include <string_view>

namespace dnsh::acme {

// RFC 8555 §7.1.6 order states. Unknown: a value this client does not know (kept distinct so
// it is never mistaken for a known one).
enum class OrderStatus { Pending, Ready, Processing, Valid, Invalid, Unknown };
// Processing is not among RFC 8555 §7.1.6's authorization states; it is its challenge's while the
// CA validates, and a CA that reports it for the authorization is waited on, not failed.
enum class AuthorizationStatus {
    Pending,
    Processing,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
    Unknown
};
enum class ChallengeStatus { Pending, Processing, Valid, Invalid, Unknown };

std::string_view toString(OrderStatus status);
std::string_view toString(AuthorizationStatus status);
std::string_view toString(ChallengeStatus status);

// Unknown for anything else (never nullopt: the CA's word is kept, not rejected).
OrderStatus parseOrderStatus(std::string_view text);
AuthorizationStatus parseAuthorizationStatus(std::string_view text);
ChallengeStatus parseChallengeStatus(std::string_view text);

}  // namespace dnsh::acme
