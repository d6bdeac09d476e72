#pragma once
// Which ACME challenge an order's authorization is answered with, stored in
// acme_challenges.method: dns-01 (RFC 8555 §8.4, a TXT value at _acme-challenge each order) or
// dns-persist-01 (draft-ietf-acme-dns-persist-00: the customer's one record at
// _validation-persist, nothing to publish per order).
#include <optional>
#include <string_view>

#include "core/enum_names.hpp"

namespace dnsh {

enum class ChallengeMethod { Dns01, DnsPersist01 };

// The spelling is the challenge object's "type" (RFC 8555 §8; draft §3.1).
inline constexpr EnumNames<ChallengeMethod, 2> kChallengeMethodNames{{{
    {ChallengeMethod::Dns01, "dns-01"},
    {ChallengeMethod::DnsPersist01, "dns-persist-01"},
}}};

constexpr std::string_view toString(ChallengeMethod method) {
    return kChallengeMethodNames.toString(method);
}

constexpr std::optional<ChallengeMethod> parseChallengeMethod(std::string_view text) {
    return kChallengeMethodNames.parse(text);
}

}  // namespace dnsh
