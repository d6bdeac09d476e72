#include "issuance/caa_lookups.hpp"

namespace dnsh {

CaaLookup CaaLookups::relevantSet(const DnsName& start,
                                  const std::function<void()>& beforeLookup) {
    for (const auto& searched : searched_)
        if (searched.start == start) return searched.lookup;
    CaaLookup lookup = lookupCaa(resolver_, start, beforeLookup, deadline());
    if (cutShort(lookup.outcome))
        walkCutShort_ = true;  // not kept: asked again, it is asked again
    else
        searched_.push_back({start, lookup});
    return lookup;
}

std::optional<DnsDeadline> CaaLookups::deadline() {
    if (budget_ && !deadline_) deadline_ = std::chrono::steady_clock::now() + *budget_;
    return deadline_;
}

bool CaaLookups::cutShort(LookupOutcome outcome) const {
    return deadline_ && noAnswer(outcome) && std::chrono::steady_clock::now() >= *deadline_;
}

}  // namespace dnsh
