#include "dns/precheck.hpp"

#include <algorithm>
#include <optional>

#include "metrics/events.hpp"

namespace dnsh {

namespace {

constexpr int kMaxCnameHops = 8;
constexpr std::uint16_t kDnsPort = 53;

std::optional<std::string> firstData(const std::vector<DnsRecord>& records, RecordType type,
                                     const std::string& owner = "") {
    for (const auto& record : records)
        if (record.type == type && (owner.empty() || record.owner == owner)) return record.data;
    return std::nullopt;
}

std::string parentOf(const std::string& name) {
    const std::size_t dot = name.find('.');
    return dot == std::string::npos ? "" : name.substr(dot + 1);
}

// RFC 2308 §2.1/§2.2: a negative answer carries the zone's SOA in its authority section; a
// positive SOA answer names the zone itself. Walks up until one of them says where the cut is.
std::optional<std::string> zoneOf(const DnsResolver& resolver, std::string name, std::string& why) {
    while (!name.empty()) {
        const DnsResponse soa = resolver.query(name, RecordType::Soa);
        if (soa.outcome == LookupOutcome::Found || soa.outcome == LookupOutcome::NxDomain) {
            if (firstData(soa.answer, RecordType::Soa, name)) return name;
            for (const auto& record : soa.authority)
                if (record.type == RecordType::Soa) return record.owner;
        } else {
            why = soa.detail;
            return std::nullopt;
        }
        name = parentOf(name);
    }
    why = "no SOA found above the name";
    return std::nullopt;
}

TxtCheck failure(TxtCheck check, const std::string& result, const std::string& description) {
    check.result = result;
    check.description = description;
    return check;
}

}  // namespace

TxtCheck checkTxtAuthoritative(const DnsResolver& resolver, const std::string& name,
                               const std::vector<std::string>& expected) {
    TxtCheck check{name, expected, {}, "", "", "", {}};
    // 1. Where the chain ends (a CNAME into a delegation zone, say).
    std::string current = name;
    for (int hop = 0;; ++hop) {
        const DnsResponse cname = resolver.query(current, RecordType::Cname);
        if (cname.outcome != LookupOutcome::Found && cname.outcome != LookupOutcome::NxDomain)
            return failure(check, txtResult(cname.outcome, expected.size()),
                           "the CNAME lookup for " + current + " failed (" + cname.detail + ")");
        const auto target = firstData(cname.answer, RecordType::Cname, current);
        if (!target) break;
        if (hop == kMaxCnameHops)
            return failure(check, "dns_servfail", "CNAME chain longer than 8 at " + name);
        current = *target;
    }
    // 2. The zone it is in, and that zone's nameservers.
    std::string why;
    const auto zone = zoneOf(resolver, current, why);
    if (!zone)
        return failure(check, "dns_servfail", "no zone found for " + current + " (" + why + ")");
    check.zone = *zone;
    const DnsResponse ns = resolver.query(*zone, RecordType::Ns);
    std::vector<std::string> nameservers;
    for (const auto& record : ns.answer)
        if (record.type == RecordType::Ns && record.owner == *zone)
            nameservers.push_back(record.data);
    if (nameservers.empty())
        return failure(check, "dns_servfail",
                       "no NS records for the zone " + *zone + " (" + ns.detail + ")");
    std::sort(nameservers.begin(), nameservers.end());

    // 3. Every address of every nameserver, asked directly.
    std::string worst = "found", description;
    for (const auto& nameserver : nameservers) {
        std::vector<std::string> addresses;
        for (const RecordType type : {RecordType::A, RecordType::Aaaa})
            for (const auto& record : resolver.query(nameserver, type).answer)
                if (record.type == type) addresses.push_back(record.data);
        if (addresses.empty()) {
            check.servers.push_back({nameserver, "", "dns_servfail", {}});
            worst = "dns_servfail";
            description = "the nameserver " + nameserver + " of " + *zone + " has no address";
            continue;
        }
        for (const auto& address : addresses) {
            const DnsServer server{address, kDnsPort};
            const DnsResponse txt =
                queryServer(&server, current, RecordType::Txt, false, resolver.timeout());
            countDnsLookup(txt.outcome);
            std::vector<std::string> seen;
            for (const auto& record : txt.answer)
                if (record.type == RecordType::Txt && record.owner == current)
                    seen.push_back(record.data);
            std::size_t missing = 0;
            for (const auto& value : expected)
                if (!txtValuesContain(seen, value)) ++missing;
            LookupOutcome outcome = txt.outcome;
            if (outcome == LookupOutcome::Found && seen.empty()) outcome = LookupOutcome::NoRecords;
            const std::string result = txtResult(outcome, missing);
            check.servers.push_back({nameserver, address, result, seen});
            if (check.seen.empty()) check.seen = seen;
            if (result != "found" && worst == "found") {
                worst = result;
                check.seen = seen;
                description =
                    nameserver + " (" + address + ") " +
                    (result == "txt_mismatch"
                         ? "has " + std::to_string(seen.size()) + " TXT value(s) at " + current +
                               ", " + std::to_string(missing) + " expected value(s) missing"
                     : result == "txt_not_found" ? "has no TXT record at " + current
                                                 : "failed: " + txt.detail);
            }
        }
    }
    check.result = worst;
    check.description = worst == "found"
                            ? "every nameserver of " + *zone + " serves the value(s) at " + current
                            : description;
    return check;
}

TxtCheck precheckTxt(DnsPrecheck mode, const DnsResolver& resolver, const std::string& name,
                     const std::vector<std::string>& expected) {
    // The authoritative servers, not a resolver's cache, are what the CA will see.
    return mode == DnsPrecheck::Authoritative ? checkTxtAuthoritative(resolver, name, expected)
                                              : checkTxt(resolver, name, expected);
}

}  // namespace dnsh
