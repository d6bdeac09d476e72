#pragma once
// Whether a CAA record set lets a CA issue for one name (RFC 8659 §4, RFC 8657): the `issue` and
// `issuewild` properties with their parameters, the critical flag, and the account and
// validation method bindings (which of our methods CAA allows). Pure: the records come from
// dns/caa_lookup.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.hpp"
#include "dns/caa_record.hpp"

namespace dnsh {

// Who asks to issue: the CA's issuer domain names (its directory's meta.caaIdentities, RFC 8555
// §7.1.1) and our account URL at it.
struct CaaIssuer {
    std::vector<std::string> identities;
    std::string accountUri;
};

// Validation methods as RFC 8657 §4's validationmethods names them: ACME challenge types
// ("dns-01", "dns-persist-01"). "Ours" for a name: those we could answer its authorization with,
// in our order of preference; CAA may allow only some of them.
using CaaMethods = std::vector<std::string>;

// An `issue` or `issuewild` value (RFC 8659 §4.2): the issuer domain name (empty: no CA may
// issue) and its parameters, in order.
struct CaaIssueValue {
    std::string issuerDomainName;
    std::vector<std::pair<std::string, std::string>> parameters;
};

// RFC 8659 §4.2's grammar, exactly: `*WSP [issuer-domain-name *WSP] [";" *WSP [parameters
// *WSP]]`, parameters `tag *WSP "=" *WSP value` separated by ";"; the issuer-domain-name, a domain
// name, within RFC 1035's limits (labels of at most 63 characters, at most 253 in all). Nothing
// when the value does not follow it (such a record authorizes no CA).
std::optional<CaaIssueValue> parseCaaIssueValue(std::string_view value);

enum class CaaVerdict { Allowed, Forbidden };

inline constexpr EnumNames<CaaVerdict, 2> kCaaVerdictNames{{{
    {CaaVerdict::Allowed, "allowed"},
    {CaaVerdict::Forbidden, "caa_forbidden"},
}}};

struct CaaDecision {
    CaaVerdict verdict = CaaVerdict::Allowed;
    std::string reason;      // why, naming the record that decided
    bool issuewild = false;  // the property that governs the name (RFC 8659 §4.3)
    // Forbidden by a critical property we do not know (RFC 8659 §4.5): adding a record cannot
    // help, that one must go.
    bool unknownCritical = false;
    // Of our methods, those CAA lets the CA validate with (RFC 8657 §4), in our order: every one
    // when no record restricts them; none when forbidden.
    CaaMethods allowedMethods;
    // Forbidden, and a record naming this CA (for our account, when it names one) fell short only
    // in its validationmethods: the first such, with our preferred method added there.
    // Suggesting that keeps the customer's restriction; a plain `issue` beside it would lift it.
    std::optional<CaaRecord> recordWithOurMethod;
    bool allowed() const { return verdict == CaaVerdict::Allowed; }
};

// The decision for one name whose relevant record set is `records` (empty: no CAA, any CA may
// issue), `ours` the methods we could validate it with (never empty: dns-01 is always one).
// `wildcard`: the name is a Wildcard Domain Name ("*.example.com"). Forbidden when no record
// allows the CA one of `ours`.
CaaDecision evaluateCaa(const std::vector<CaaRecord>& records, bool wildcard,
                        const CaaIssuer& issuer, const CaaMethods& ours);

}  // namespace dnsh
