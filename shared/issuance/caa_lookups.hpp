#pragma once
// The DNS answers of one placement's CAA prechecks (README "CAA"), shared by every CA it tries:
// a name's relevant record set (RFC 8659 §3) is the same whichever CA asks, so each search is
// looked up once and every CA judges it for its own identities (as PersistProbe looks each
// _validation-persist record up once). issue-certificate gives it a budget: the walk asks once
// per label, up to ~115 for a long name, so a customer's nameserver answering each question
// slowly but in time held an issue handler for minutes, past the issue claim's lease. The
// scheduler gives none: it extends its lease before each question instead, and once it is
// stopping gives the order back there (StepContext::keepLease's stop point).
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "dns/caa_lookup.hpp"
#include "dns/resolver.hpp"

namespace dnsh {

class CaaLookups {
public:
    // `budget`: how long the lookups (these, and the _validation-persist ones CAA depends on)
    // may take together, from the first question on; none: unbounded.
    explicit CaaLookups(const DnsResolver& resolver,
                        std::optional<std::chrono::milliseconds> budget = std::nullopt)
        : resolver_(resolver), budget_(budget) {}
    CaaLookups(const CaaLookups&) = delete;
    CaaLookups& operator=(const CaaLookups&) = delete;

    // The relevant set of the search from `start` (a wildcard's base name), looked up the first
    // time it is asked (`beforeLookup` before each question then), by deadline().
    CaaLookup relevantSet(const DnsName& start, const std::function<void()>& beforeLookup);

    // What every lookup of the placement ends by: the budget from the first call on; none
    // without a budget.
    std::optional<DnsDeadline> deadline();
    // Whether a lookup that ended with `outcome` was cut short by the deadline: no answer, and
    // the deadline has passed. Such a lookup is no answer to keep (README "CAA": 424, not a
    // dns-01 order).
    bool cutShort(LookupOutcome outcome) const;
    // Whether one of relevantSet's lookups was cut short since resetCutShort.
    bool walkCutShort() const { return walkCutShort_; }
    // Each CA's check is judged by its own lookups (caa_precheck.cpp). A cut search was not
    // kept: a later check that needs it asks again and is cut again.
    void resetCutShort() { walkCutShort_ = false; }
    std::optional<std::chrono::milliseconds> budget() const { return budget_; }

private:
    struct Searched {
        DnsName start;
        CaaLookup lookup;
    };
    const DnsResolver& resolver_;
    std::optional<std::chrono::milliseconds> budget_;
    std::optional<DnsDeadline> deadline_;
    std::vector<Searched> searched_;
    bool walkCutShort_ = false;
};

}  // namespace dnsh
