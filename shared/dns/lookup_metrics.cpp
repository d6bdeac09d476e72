#include "dns/lookup_metrics.hpp"

#include <string>

#include "core/metric_registry.hpp"

namespace dnsh {

std::string_view dnsResultLabel(LookupOutcome outcome) {
    switch (outcome) {
        case LookupOutcome::Found:
            return "found";
        case LookupOutcome::NoRecords:
            return "no_records";
        case LookupOutcome::NxDomain:
            return "nxdomain";
        case LookupOutcome::ServFail:
            return "servfail";
        case LookupOutcome::Timeout:
            return "timeout";
        case LookupOutcome::Failed:
            return "error";
    }
    return "error";
}

void countDnsLookup(LookupOutcome outcome) {
    countEvent("dnsh_dns_lookups_total", {{"result", std::string(dnsResultLabel(outcome))}});
}

}  // namespace dnsh
