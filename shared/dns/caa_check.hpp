#pragma once
// The CAA check before a CA order (RFC 8659, RFC 8657): for every name of the order its relevant
// record set (dns/caa_lookup.hpp) and the decision on it (dns/caa_policy.hpp), which of our
// validation methods each name allows, the one result, what to add when it forbids, and the
// bounded JSON the domain view's `checks.caa` shows.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.hpp"
#include "core/failure_code.hpp"
#include "dns/caa_lookup.hpp"
#include "dns/caa_policy.hpp"

namespace dnsh {

// Skipped: the CA names no caaIdentities, so no record could name it (RFC 8555 §7.1.1).
// LookupFailed: a lookup failed (SERVFAIL, timeout): neither permission nor refusal, ask again.
enum class CaaResult { Allowed, Skipped, Forbidden, LookupFailed };

inline constexpr EnumNames<CaaResult, 4> kCaaResultNames{{{
    {CaaResult::Allowed, "allowed"},
    {CaaResult::Skipped, "skipped"},
    {CaaResult::Forbidden, "caa_forbidden"},
    {CaaResult::LookupFailed, "lookup_failed"},
}}};

// A validation method we could not tell is ours for a name: its own lookup failed (SERVFAIL,
// timeout), as the lookup of dns-persist-01's _validation-persist record may. Like a failed CAA
// lookup, neither permission nor refusal.
struct CaaMethodUnknown {
    std::string method;                              // "dns-persist-01"
    FailureCode failure = FailureCode::DnsServfail;  // dns_servfail or dns_timeout
    std::string detail;                              // which lookup, what the server said
};

// Our validation methods for one name: those we could use (caa_policy.hpp's CaaMethods, in our
// order), and at most one we could not tell.
struct CaaOurMethods {
    // Implicit: every method known (the tests' lookup tables give CaaMethods).
    CaaOurMethods(CaaMethods known = {}) : known(std::move(known)) {}
    CaaMethods known;
    std::optional<CaaMethodUnknown> unknown;
};

struct CaaNameCheck {
    std::string name;  // as ordered: "shop.example.com", "*.example.com"
    CaaMethods ours;   // the methods we could validate it with
    CaaLookup lookup;
    CaaDecision decision;         // when the lookup did not fail
    std::string suggestedRecord;  // when forbidden and a record would allow it
    // Forbidden only for want of a method whose own lookup failed: with it CAA would allow the
    // name (RFC 8657 §4). No answer, like a failed CAA lookup: the name's result is that failure.
    std::optional<CaaMethodUnknown> undecided;
    // The CAA lookup failed, or `undecided`: ask again.
    bool failed() const { return lookup.failed() || undecided.has_value(); }
};

struct CaaCheck {
    CaaResult result = CaaResult::Skipped;
    std::vector<std::string> identities;  // the CA's caaIdentities
    std::vector<CaaNameCheck> names;
    std::string description;                    // for error messages and logs
    std::vector<std::string> suggestedRecords;  // Forbidden: what to add, one per name
    // A lookup the check needed (CAA, or a method's own) was cut short by the caller's overall
    // deadline (issue-certificate's, issuance/caa_lookups.hpp): LookupFailed, dns_timeout.
    bool deadlinePassed = false;
    bool passed() const { return result == CaaResult::Allowed || result == CaaResult::Skipped; }
    // Whether the CA may validate `name` (as ordered) with `method` (RFC 8657 §4): one of ours
    // that its CAA allows. A name not checked (Skipped: no caaIdentities) is not restricted.
    bool allowsMethod(const std::string& name, std::string_view method) const;
    // Forbidden: caa_forbidden; LookupFailed: dns_timeout past the deadline, else dns_timeout
    // or dns_servfail (of the first name whose CAA lookup failed or that is undecided).
    FailureCode failureCode() const;
};

// Our validation methods for one name of the order; asked only once its CAA lookup answered.
using CaaMethodsFor = std::function<CaaOurMethods(const std::string& name)>;

// Decides every name of `names` (a wildcard's search starts at its base name), each for the
// methods `oursFor` gives it, `lookup` giving each search's relevant set (lookupCaa; the
// precheck's shared CaaLookups, the tests' DNS). Without identities nothing is asked: Skipped. A
// refusal of any name is Forbidden; else a failed lookup (CAA, or of a method CAA needs:
// `undecided`) is LookupFailed.
CaaCheck checkCaaWith(const std::vector<std::string>& names, const CaaIssuer& issuer,
                      const CaaMethodsFor& oursFor,
                      const std::function<CaaLookup(const DnsName&)>& lookup);

// What a check keeps of the customer's records: they are stored and shown in every domain view,
// so capped like a TXT check's values (dns/txt_check.hpp).
inline constexpr std::size_t kMaxShownCaaRecords = 8;       // per name
inline constexpr std::size_t kMaxShownCaaValueBytes = 100;  // one record's value, escaped
inline constexpr std::size_t kMaxShownCaaAsked = 16;        // names asked, per name checked
inline constexpr std::size_t kMaxShownCaaIdentities = 8;
// A suggested record built from the customer's own (their parameters kept, our method added):
// longer than this it is not shown, the description says what to add instead.
inline constexpr std::size_t kMaxSuggestedCaaValueBytes = 300;
// One name's reason: it quotes at most one record (cut as above) and one issuer name (cut to
// kMaxShownValueBytes), so this is room to spare, a last bound on what is stored.
inline constexpr std::size_t kMaxShownCaaReasonBytes = 1024;

// {result, ca_identities, names: [{name, asked, asked_truncated?, found_at?, records,
// records_truncated?, records_total?, result, reason, validation_methods?, suggested_record?}],
// suggested_records?, description, checked_at}: `result` allowed, skipped, caa_forbidden,
// dns_servfail or dns_timeout; validation_methods (unless a lookup failed) the methods of ours
// CAA allows for the name. Without checked_at: the statement that stores the check appends it
// from PostgreSQL's clock (domain/check_times.hpp).
std::string caaCheckJson(const CaaCheck& check);

}  // namespace dnsh
