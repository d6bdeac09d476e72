#include "dns/lookup_metrics.hpp"

#include <string>

#include "core/metric_registry.hpp"

namespace dnsh {

void countDnsLookup(LookupOutcome outcome) {
    countEvent("dnsh_dns_lookups_total", {{"result", std::string(toString(outcome))}});
}

}  // namespace dnsh
