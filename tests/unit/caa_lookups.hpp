#pragma once
// CAA lookups the unit tests hand to checkCaaWith in place of the resolver.
#include <functional>
#include <vector>

#include "dns/caa_check.hpp"

namespace dnsh::test {

// Every name's relevant set is `records`, found at the name asked.
inline std::function<CaaLookup(const DnsName&)> found(std::vector<CaaRecord> records) {
    return [records](const DnsName& at) {
        CaaLookup lookup;
        lookup.asked = {at};
        lookup.outcome = LookupOutcome::Found;
        lookup.foundAt = lookup.owner = at;
        lookup.records = records;
        for (auto& record : lookup.records) record.owner = at;
        return lookup;
    };
}

}  // namespace dnsh::test
