#pragma once
// dnsh_dns_lookups_total, counted by dns/resolver.cpp and dns/precheck.cpp at each lookup.
#include "dns/lookup_outcome.hpp"

namespace dnsh {

// dnsh_dns_lookups_total{result}: the outcome's name (kLookupOutcomeNames).
void countDnsLookup(LookupOutcome outcome);

}  // namespace dnsh
