#pragma once
// How one DNS lookup ended, and the one spelling of each outcome: the dnsh_dns_lookups_total
// label value, and what an error detail says when the server gave none.
#include <string_view>

#include "core/enum_names.hpp"

namespace dnsh {

// Found: NOERROR (for a TXT lookup: with values). NoRecords: NOERROR without what was asked.
// Unreachable: the question could not be sent at all (no route to the server's network, an
// address family this host lacks); Timeout: sent, and no answer in time.
enum class LookupOutcome { Found, NoRecords, NxDomain, ServFail, Timeout, Unreachable, Failed };

inline constexpr EnumNames<LookupOutcome, 7> kLookupOutcomeNames{{{
    {LookupOutcome::Found, "found"},
    {LookupOutcome::NoRecords, "no_records"},
    {LookupOutcome::NxDomain, "nxdomain"},
    {LookupOutcome::ServFail, "servfail"},
    {LookupOutcome::Timeout, "timeout"},
    {LookupOutcome::Unreachable, "unreachable"},
    {LookupOutcome::Failed, "error"},
}}};

constexpr std::string_view toString(LookupOutcome outcome) {
    return kLookupOutcomeNames.toString(outcome);
}

// No answer came, whether the question was lost or could not be sent: dns_timeout, asked again
// later.
constexpr bool noAnswer(LookupOutcome outcome) {
    return outcome == LookupOutcome::Timeout || outcome == LookupOutcome::Unreachable;
}

// The server answered the question: records, none, or no such name.
constexpr bool answered(LookupOutcome outcome) {
    return outcome == LookupOutcome::Found || outcome == LookupOutcome::NoRecords ||
           outcome == LookupOutcome::NxDomain;
}

// Worth asking the next server: this one did not answer, or answered SERVFAIL.
constexpr bool askNextServer(LookupOutcome outcome) {
    return noAnswer(outcome) || outcome == LookupOutcome::ServFail;
}

}  // namespace dnsh
