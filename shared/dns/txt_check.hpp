#pragma once
// One TXT check as the domain view's "checks" shows it (DESIGN.md): which name was asked, what
// was expected, every value seen, and a result that says what to fix.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace dnsh {

// What one authoritative nameserver answered (DNS_PRECHECK=authoritative).
struct NameserverAnswer {
    std::string nameserver;  // its NS name
    std::string address;     // the address asked
    std::string result;      // as TxtCheck::result, or address_not_allowed (not asked)
    std::vector<std::string> seen;
};

struct TxtCheck {
    std::string name;
    std::vector<std::string> expected;
    std::vector<std::string> seen;
    // "found" (every expected value present) or an error_code of DESIGN.md: txt_not_found,
    // txt_mismatch, dns_nxdomain, dns_servfail, dns_timeout; the authoritative precheck also
    // dns_address_not_allowed (no nameserver address it may ask).
    std::string result;
    std::string description;                // for error messages: what was seen, where
    std::string zone;                       // authoritative precheck: the zone asked
    std::vector<NameserverAnswer> servers;  // authoritative precheck: every server's answer
    // Authoritative precheck, beyond its caps: nameservers whose addresses were not looked up,
    // and addresses of the others neither asked nor listed.
    std::size_t nameserversNotAsked = 0;
    std::size_t addressesNotAsked = 0;
    bool passed() const { return result == "found"; }
};

// "found" when nothing expected is `missing`, else the error_code for a lookup's outcome.
std::string txtResult(LookupOutcome outcome, std::size_t missing);

// Looks up `name` (following CNAMEs) and compares with `expected`, all of which must be there.
TxtCheck checkTxt(const DnsResolver& resolver, const std::string& name,
                  const std::vector<std::string>& expected);

// What stands where the verification token would, in anything shown after registration (checks,
// webhook payloads).
inline constexpr const char* kTokenPlaceholder = "(the verification token)";

// The check with `secret` (the verification token) replaced by `placeholder` wherever it stands:
// what is shown to clients after registration never carries the token.
TxtCheck redacted(TxtCheck check, const std::string& secret, const std::string& placeholder);

// {name, expected, seen, result, zone?, nameservers?, nameservers_not_asked?,
// addresses_not_asked?, checked_at, next_check_at?} for domains.last_check.
std::string txtCheckJson(const TxtCheck& check,
                         std::optional<std::chrono::milliseconds> nextCheckIn);

}  // namespace dnsh
