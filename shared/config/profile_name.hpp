#pragma once
// The name of a CA profile (draft-ietf-acme-profiles §3: the keys of the directory's
// meta.profiles), as ACME_PROFILE and POST /domains take it. Whether the CA offers it is the CA's
// word (issuance/profiles.hpp); this only keeps what reaches the CA and the database short and
// printable.
#include <string_view>

namespace dnsh {

inline constexpr const char* kProfileNameRule =
    "expected a profile name: 1 to 64 letters, digits, '.', '_' or '-'";

bool validProfileName(std::string_view name);

}  // namespace dnsh
