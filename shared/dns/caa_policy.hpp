#pragma once
// Whether a CAA record set lets a CA issue for one name (RFC 8659 §4, RFC 8657): the `issue` and
// `issuewild` properties with their parameters, the critical flag, and the account and
// validation method bindings. Pure: the records come from dns/caa_lookup.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.hpp"
#include "dns/caa_record.hpp"

namespace dnsh {

// Who asks to issue: the CA's issuer domain names (its directory's meta.caaIdentities, RFC 8555
// §7.1.1), our account URL at it, and the validation method we use.
struct CaaIssuer {
    std::vector<std::string> identities;
    std::string accountUri;
    std::string validationMethod;
};

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
    bool allowed() const { return verdict == CaaVerdict::Allowed; }
};

// The decision for one name whose relevant record set is `records` (empty: no CAA, any CA may
// issue). `wildcard`: the name is a Wildcard Domain Name ("*.example.com").
CaaDecision evaluateCaa(const std::vector<CaaRecord>& records, bool wildcard,
                        const CaaIssuer& issuer);

}  // namespace dnsh
