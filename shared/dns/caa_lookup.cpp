#include "dns/caa_lookup.hpp"

namespace dnsh {

CaaLookup findRelevantCaaSet(const DnsName& name, const DnsQuestion& ask) {
    CaaLookup lookup;
    // RFC 8659 §3: "*.X" is searched from X.
    DnsName at = name.text().starts_with("*.") ? name.parent() : name;
    for (; !at.isRoot(); at = at.parent()) {
        lookup.asked.push_back(at);
        const CnameChain chain = followCnames(at, RecordType::Caa, ask);
        if (chain.tooLong) {
            lookup.outcome = LookupOutcome::Failed;
            lookup.detail =
                "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " at " + at.text();
            return lookup;
        }
        const LookupOutcome outcome = chain.response.outcome;
        if (outcome == LookupOutcome::NxDomain) continue;  // an empty set: on to the parent
        if (outcome != LookupOutcome::Found) {
            lookup.outcome = outcome;
            lookup.detail = chain.response.detail.empty() ? std::string(toString(outcome))
                                                          : chain.response.detail;
            return lookup;
        }
        const auto rdatas = recordData(chain.response.answer, RecordType::Caa, chain.end);
        if (rdatas.empty()) continue;
        lookup.outcome = LookupOutcome::Found;
        lookup.foundAt = at;
        lookup.owner = chain.end;
        for (const auto& rdata : rdatas) {
            if (auto record = parseCaaRdata(chain.end, rdata))
                lookup.records.push_back(std::move(*record));
            else
                ++lookup.unparsable;
        }
        return lookup;
    }
    lookup.outcome = LookupOutcome::NoRecords;
    return lookup;
}

CaaLookup lookupCaa(const DnsResolver& resolver, const DnsName& name,
                    const std::function<void()>& beforeLookup,
                    std::optional<DnsDeadline> deadline) {
    return findRelevantCaaSet(name, [&](const DnsName& at, RecordType type) {
        beforeLookup();
        return resolver.query(at, type, deadline);
    });
}

}  // namespace dnsh
