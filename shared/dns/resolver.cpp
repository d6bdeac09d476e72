#include "dns/resolver.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "crypto/random.hpp"
#include "dns/lookup_metrics.hpp"

namespace dnsh {

namespace {

std::optional<DnsName> cnameAt(const std::vector<DnsRecord>& records, const DnsName& owner) {
    const auto targets = recordData(records, RecordType::Cname, owner);
    if (targets.empty()) return std::nullopt;
    return DnsName(targets.front());
}

// The server of `servers` that last answered, per process and list. Asked in list order every
// time, a dead first resolver would cost every lookup DNS_TIMEOUT: a precheck's few lookups its
// whole deadline, a CAA walk's lookups more than the lease. Keyed by the list, so the
// scheduler's workers (each with its own DnsResolver over DNS_RESOLVER) learn it once, and a
// resolver over another list keeps its own. A process uses few lists: entries stay.
std::atomic<std::size_t>& lastAnsweredOf(const std::vector<DnsServer>& servers) {
    static std::mutex mutex;
    static std::map<std::string, std::atomic<std::size_t>> byList;
    std::string key;
    for (const DnsServer& server : servers)
        key += server.host + "#" + std::to_string(server.port) + ",";
    const std::lock_guard<std::mutex> lock(mutex);
    return byList[key];  // a map's elements stay where they are
}

}  // namespace

std::vector<std::string> recordData(const std::vector<DnsRecord>& records, RecordType type,
                                    const DnsName& owner) {
    std::vector<std::string> data;
    for (const auto& record : records)
        if (record.type == type && record.owner == owner) data.push_back(record.data);
    return data;
}

CnameChain followCnames(const DnsName& name, RecordType type, const DnsQuestion& ask) {
    CnameChain chain{name, {}, false};
    int hops = 0;
    while (true) {
        chain.response = ask(chain.end, type);
        if (chain.response.outcome != LookupOutcome::Found) return chain;
        // Along the chain in this answer, until the records asked for or its last name.
        const DnsName asked = chain.end;
        while (type == RecordType::Cname ||
               recordData(chain.response.answer, type, chain.end).empty()) {
            const auto next = cnameAt(chain.response.answer, chain.end);
            if (!next) break;
            if (hops == kMaxCnameHops) {
                chain.tooLong = true;
                return chain;
            }
            ++hops;
            chain.end = *next;
        }
        // The answer stopped at a CNAME's target without its records: ask there.
        if (chain.end == asked || !recordData(chain.response.answer, type, chain.end).empty())
            return chain;
    }
}

DnsResolver::DnsResolver(std::vector<DnsServer> servers, std::chrono::milliseconds timeout)
    : servers_(std::move(servers)), timeout_(timeout) {
    if (!servers_.empty()) lastAnswered_ = &lastAnsweredOf(servers_);
}

DnsResolver DnsResolver::fromConfig(const Config& config) {
    return DnsResolver(config.dnsResolver.empty() ? std::vector<DnsServer>{}
                                                  : parseResolverList(config.dnsResolver),
                       config.dnsTimeout);
}

DnsResponse DnsResolver::ask(const DnsName& name, RecordType type,
                             std::optional<DnsDeadline> deadline) const {
    // Without DNS_RESOLVER, resolv.conf's nameservers go through the loop below too: handed to
    // ldns all at once, each was waited for in full after the last, past the deadline.
    std::vector<DnsServer> fromFile;
    if (servers_.empty()) fromFile = resolvConfServers(kSystemResolvConf);
    const std::vector<DnsServer>& servers = servers_.empty() ? fromFile : servers_;
    // None to read: ldns says why (an unreadable file, no nameserver line).
    if (servers.empty()) return queryServer(nullptr, name, type, true, timeout_, deadline);
    std::atomic<std::size_t>& lastAnswered =
        lastAnswered_ != nullptr ? *lastAnswered_ : lastAnsweredOf(servers);
    // From the server that answered last, every server once; a race between two lookups only
    // decides which answering server the next one starts at.
    const std::size_t first = lastAnswered.load(std::memory_order_relaxed) % servers.size();
    DnsResponse response;
    for (std::size_t tried = 0; tried < servers.size(); ++tried) {
        const std::size_t index = (first + tried) % servers.size();
        response = queryServer(&servers[index], name, type, true, timeout_, deadline);
        if (!askNextServer(response.outcome)) {
            // Only a server that answered the question is the next lookup's first: one that
            // refused it (Failed: REFUSED, NOTIMP) would become every lookup's dead end.
            if (index != first && answered(response.outcome))
                lastAnswered.store(index, std::memory_order_relaxed);
            break;
        }
        if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
    }
    return response;
}

DnsResponse DnsResolver::query(const DnsName& name, RecordType type,
                               std::optional<DnsDeadline> deadline) const {
    DnsResponse response = ask(name, type, deadline);
    countDnsLookup(response.outcome);
    return response;
}

TxtLookup DnsResolver::lookupTxt(const DnsName& name,
                                 std::optional<DnsDeadline> deadline) const {
    const CnameChain chain = followCnames(
        name, RecordType::Txt,
        [this, deadline](const DnsName& at, RecordType type) { return ask(at, type, deadline); });
    TxtLookup result{chain.response.outcome, {}, chain.end, chain.response.detail};
    if (chain.tooLong) {
        result.outcome = LookupOutcome::NoRecords;
        result.detail =
            "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " at " + name.text();
    } else if (result.outcome == LookupOutcome::Found) {
        result.values = recordData(chain.response.answer, RecordType::Txt, chain.end);
        if (result.values.empty()) {
            result.outcome = LookupOutcome::NoRecords;
            result.detail = "no TXT record at " + chain.end.text();
        }
    }
    countDnsLookup(result.outcome);
    return result;
}

CnameLookup DnsResolver::lookupCname(const DnsName& name,
                                     std::optional<DnsDeadline> deadline) const {
    const DnsResponse response = query(name, RecordType::Cname, deadline);
    CnameLookup lookup;
    lookup.outcome = response.outcome;  // NxDomain, ServFail, Timeout, Failed as they are
    lookup.detail = response.detail;
    if (response.outcome == LookupOutcome::Found) {
        // NOERROR: no CNAME unless one is here.
        const auto target = cnameAt(response.answer, name);
        lookup.outcome = target ? LookupOutcome::Found : LookupOutcome::NoRecords;
        if (target) lookup.target = *target;
    } else if (!lookup.absent() && lookup.detail.empty()) {
        lookup.detail = std::string(toString(response.outcome));
    }
    return lookup;
}

bool txtValuesContain(const std::vector<std::string>& values, std::string_view expected) {
    bool found = false;
    for (const auto& value : values) found = constantTimeEquals(value, expected) || found;
    return found;
}

}  // namespace dnsh
