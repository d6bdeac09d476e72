#pragma once
// One TXT check as the domain view's "checks" shows it (README "API"): which name was asked, what
// was expected, every value seen, and a result that says what to fix.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/failure_code.hpp"
#include "dns/resolver.hpp"

namespace dnsh {

// Whether the precheck asked an address of a nameserver, and if not, why (README "API").
enum class AddressAsked {
    Asked,
    NotAllowed,   // not public and not in DNS_PRECHECK_ALLOW: never sent a packet
    Unreachable,  // this host could not send to it (no route): no answer to compare
    NoAddress,    // its name has no A or AAAA record: the CA cannot ask it either
};

// What one authoritative nameserver answered (DNS_PRECHECK=authoritative).
struct NameserverAnswer {
    std::string nameserver;  // its NS name
    std::string address;     // the address asked
    std::optional<FailureCode> failure;  // as TxtCheck::failure
    std::vector<std::string> seen;
    AddressAsked asked = AddressAsked::Asked;
};

struct TxtCheck {
    std::string name;
    std::vector<std::string> expected;
    std::vector<std::string> seen;
    // None: every expected value is present. Else what to fix (README "API"): txt_not_found,
    // txt_mismatch, dns_nxdomain, dns_servfail, dns_timeout; the authoritative precheck also
    // dns_address_not_allowed (no nameserver address it may ask).
    std::optional<FailureCode> failure;
    std::string description;                // for error messages: what was seen, where
    std::string zone;                       // authoritative precheck: the zone asked
    std::vector<NameserverAnswer> servers;  // authoritative precheck: every server's answer
    // Authoritative precheck, beyond its caps: nameservers whose addresses were not looked up,
    // and addresses of the others neither asked nor listed.
    std::size_t nameserversNotAsked = 0;
    std::size_t addressesNotAsked = 0;
    bool passed() const { return !failure; }
};

// None when nothing expected is `missing`, else the failure a lookup's outcome means.
std::optional<FailureCode> txtFailure(LookupOutcome outcome, std::size_t missing);

// A check's "result" as shown: "found", or the failure's error_code.
std::string_view resultName(const std::optional<FailureCode>& failure);
// One nameserver address's "result" as shown: its check's, or why it was not asked.
std::string_view addressResult(const NameserverAnswer& server);

// The values of `lookup` (asked at `queried`) as stored and shown. Reached through a CNAME whose
// target is neither `queried`, nor under the name it is asked for (its parent: the domain), nor
// under `delegationZone`: one entry with their count and where, no value. A resolver follows a
// CNAME wherever it points (RFC 1034 §3.6.2), into a zone only our network sees too.
std::vector<std::string> valuesAsShown(const TxtLookup& lookup, const DnsName& queried,
                                       const std::string& delegationZone);

// Looks up `name` (following CNAMEs) and compares with `expected`, all of which must be there.
// "seen" as valuesAsShown() keeps it (`delegationZone`: DELEGATION_ZONE, "" when off); the
// comparison uses every value found.
TxtCheck checkTxt(const DnsResolver& resolver, const std::string& name,
                  const std::vector<std::string>& expected,
                  const std::string& delegationZone = "");

// What stands where the verification token would, in anything shown after registration (checks,
// webhook payloads).
inline constexpr const char* kTokenPlaceholder = "(the verification token)";

// The check with `secret` (the verification token) replaced by `placeholder` wherever it stands
// as a value (expected, seen, each nameserver's seen): what is shown to clients after
// registration never carries the token.
TxtCheck redacted(TxtCheck check, const std::string& secret, const std::string& placeholder);

// `text` (a stored check, a webhook payload) with every occurrence of `token` replaced by
// kTokenPlaceholder: the last mask before anything is shown, also over rows stored unmasked.
std::string withoutToken(std::string text, const std::string& token);

// What a check keeps of what the customer's DNS returned (their zone, their values: any number,
// any bytes). It is stored, shown in every domain view and list page and sent in webhooks, so it
// is capped before it is stored: a view stays small whatever the DNS answered.
inline constexpr std::size_t kMaxSeenValues = 8;            // the check's own "seen"
inline constexpr std::size_t kMaxNameserverSeenValues = 2;  // "seen" of each nameserver listed
inline constexpr std::size_t kMaxShownValueBytes = 100;     // one value, as shown (escaped)
inline constexpr std::size_t kMaxShownNameBytes = 128;      // a zone, nameserver or address
// Nameserver entries listed: the precheck makes at most 8 (nameservers without an address) + 16
// (addresses asked or refused).
inline constexpr std::size_t kMaxListedNameservers = 24;
// The most a stored check can hold with the caps above, its times included.
inline constexpr std::size_t kMaxCheckJsonBytes = 20 * 1024;
// What the statement storing a check appends (domain/check_times.hpp):
// ,"checked_at":"YYYY-MM-DDTHH:MM:SSZ","next_check_at":"YYYY-MM-DDTHH:MM:SSZ"
inline constexpr std::size_t kCheckTimesBytes = 75;

// {name, expected, seen, seen_truncated?, seen_total?, result, zone?, nameservers?,
// nameservers_not_asked?, addresses_not_asked?} for domains.last_check: at most kMaxSeenValues
// values of at most kMaxShownValueBytes each (and kMaxNameserverSeenValues per nameserver),
// escaped; seen_truncated and seen_total (how many the lookup returned) when something was left
// out or cut. Never more than kMaxCheckJsonBytes - kCheckTimesBytes. Its checked_at and
// next_check_at are appended by the statement that stores it, from PostgreSQL's clock
// (domain/check_times.hpp): not this host's, which may be minutes off another's.
std::string txtCheckJson(const TxtCheck& check);

}  // namespace dnsh
