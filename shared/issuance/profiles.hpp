#pragma once
// CA profiles (draft-ietf-acme-profiles): which one an order names, and whether the CA offers it.
// A CA without profiles ignores an unknown "profile" member of newOrder (RFC 8555 §7.4 lets it),
// so the service checks the directory's meta.profiles itself before naming one, instead of
// storing a certificate under a profile it never got.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "acme/client.hpp"
#include "config/config.hpp"
#include "db/database.hpp"
#include "domain/domain.hpp"

namespace dnsh {

struct OrderProfile {
    std::string name;          // "" : newOrder names none (the CA's default)
    bool fromSetting = false;  // ACME_PROFILE (or the CA's ACME_CA_<NAME>_PROFILE), not the domain's
    std::string setting = "ACME_PROFILE";  // the variable it came from, for messages
};

// The domain's own profile, else ACME_PROFILE, else none.
OrderProfile orderProfile(const std::optional<std::string>& domainProfile, const Config& config);
// The domain's own profile, else the CA's profile setting, else none.
OrderProfile orderProfile(const std::optional<std::string>& domainProfile, const CaSettings& ca);

// Profiles named in one message: Let's Encrypt offers three or four; a CA listing thousands
// must not make every invalidProfile error (stored as the domain's, the API's 400) as long.
inline constexpr std::size_t kMaxListedProfiles = 10;

// "a, b" of the profiles the directory lists, or "none"; past kMaxListedProfiles, "and N more".
std::string offeredProfiles(const acme::Directory& directory);

// Nothing when `profile` names none or one the directory lists; else an AcmeError of type
// invalidProfile (error_code invalid_profile; not the CA's error, so not counted as one) naming
// the setting or the domain's choice, and what the CA offers.
void requireOffered(const acme::Directory& directory, const OrderProfile& profile);
// How often a profile the directory's copy does not list makes a process read it again: a
// domain whose profile only a later CA offers (README "Several CAs"), or a misconfigured
// ACME_CA_<NAME>_PROFILE, costs the first CA one directory read a minute, not one an order.
inline constexpr std::chrono::seconds kProfileRereadFloor{60};

// requireOffered against `client`'s directory, read again before refusing a profile its copy
// does not list (unless such a read came within kProfileRereadFloor): a CA adds profiles over
// time (draft-ietf-acme-profiles §3), and POST /domains took the domain's against a fresh read.
void requireOfferedNow(acme::Client& client, const OrderProfile& profile);

// POST /domains with a "profile": asks each CA's directory (within ACME_HANDLER_TIMEOUT) until
// one offers it. BadRequest naming the offered profiles when no CA does (a CA without profiles
// refuses every one); BadGateway with Retry-After when a CA's directory could not be read, none
// that answered offers it, and an unread one may answer later (unreachable, 5xx) or none was
// read (error_code that of the first unread one that may answer later). An unread directory
// that refused for good (a 404) while another CA answered: BadRequest, naming it ("directory
// not read: ..."), not a BadGateway no retry clears.
void requireProfileOffered(const Config& config, const std::string& profile);

// POST /domains: the name is checked first (a bad one is refused without asking the CA), then
// the profile, when one is given, against the CA's directory (a retry with an Idempotency-Key
// too); then the domain is registered, or the registration that holds `idempotencyKey` answered
// again (domain/registration.hpp).
Domain registerDomainWithProfile(Database& database, const Config& config,
                                 std::string_view requestedName,
                                 const std::optional<std::string>& profile,
                                 const std::optional<std::string>& idempotencyKey = std::nullopt);

}  // namespace dnsh
