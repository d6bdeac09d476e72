#pragma once
// dnsh_dns_lookups_total, counted by dns/resolver.cpp and dns/precheck.cpp at each lookup.
#include <string_view>

#include "dns/resolver.hpp"

namespace dnsh {

// dnsh_dns_lookups_total{result}: found, no_records, nxdomain, servfail, timeout, error.
void countDnsLookup(LookupOutcome outcome);

// The label value above, exposed for the exposition's zero rows and the tests.
std::string_view dnsResultLabel(LookupOutcome outcome);

}  // namespace dnsh
