#pragma once
// The relevant CAA record set of a name (RFC 8659 §3): the name's own CAA records, else its
// parent's, and so on up to (not including) the root, stopping at the first non-empty set. Each
// name is asked through the resolver with CNAMEs followed as for any other lookup (bounded,
// followCnames). NXDOMAIN and NOERROR without CAA records both mean an empty set there; a lookup
// that failed (SERVFAIL, timeout) ends the search without an answer: neither permission nor
// refusal.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dns/caa_record.hpp"
#include "dns/resolver.hpp"

namespace dnsh {

struct CaaLookup {
    // Found: a non-empty set at `foundAt`. NoRecords: none up to the top (any CA may issue).
    // ServFail, Timeout, Failed: a lookup failed at the last name of `asked`.
    LookupOutcome outcome = LookupOutcome::Failed;
    std::vector<DnsName> asked;      // in the order asked
    DnsName foundAt;                 // Found: the name whose set it is
    DnsName owner;                   // Found: where the records are (after CNAMEs)
    std::vector<CaaRecord> records;  // Found: the set, every record of it
    std::size_t unparsable = 0;      // records of the set whose RDATA RFC 8659 §4.1 rejects
    std::string detail;              // errors: which server said what
    bool failed() const {
        return outcome != LookupOutcome::Found && outcome != LookupOutcome::NoRecords;
    }
};

// The search for `name` (a wildcard's starts at its base name, RFC 8659 §3), each question
// asked through `ask`.
CaaLookup findRelevantCaaSet(const DnsName& name, const DnsQuestion& ask);

// findRelevantCaaSet through the resolver (each question counted in dnsh_dns_lookups_total).
// `beforeLookup` runs before each question, CNAME hops included: a scheduler worker extends its
// lease there. The walk asks once per label (up to ~115 for a long name), so only `deadline`
// bounds it as a whole: no question is sent after it and one that was waits no longer (the walk
// then ends as a failed lookup, Timeout).
CaaLookup lookupCaa(const DnsResolver& resolver, const DnsName& name,
                    const std::function<void()>& beforeLookup = [] {},
                    std::optional<DnsDeadline> deadline = std::nullopt);

}  // namespace dnsh
