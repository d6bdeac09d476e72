#pragma once
// The token of an Authorization header of the Bearer scheme (RFC 6750 §2.1).
#include <optional>
#include <string_view>

namespace dnsh {

// `Bearer <token>`: the scheme in any case (RFC 9110 §11.1: auth-scheme is case-insensitive),
// one or more spaces before the token (RFC 6750 §2.1: "Bearer" 1*SP b64token). Nothing when the
// header is of another scheme or has no token.
std::optional<std::string_view> bearerToken(std::string_view authorization);

}  // namespace dnsh
