#include "dns/resolver.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>

#include "crypto/random.hpp"
#include "dns/lookup_metrics.hpp"

// Last: ldns headers define macros (e.g. `false`) that break later C++ standard headers.
#include <ldns/ldns.h>

namespace dnsh {

namespace {

constexpr int kMaxCnameHops = 8;

struct LdnsDeleter {
    void operator()(ldns_resolver* resolver) const { ldns_resolver_deep_free(resolver); }
    void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
using ResolverPtr = std::unique_ptr<ldns_resolver, LdnsDeleter>;
using PacketPtr = std::unique_ptr<ldns_pkt, LdnsDeleter>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsDeleter>;

std::string describe(const DnsServer& server) {
    if (server.host.find(':') != std::string::npos)
        return "[" + server.host + "]:" + std::to_string(server.port);
    return server.host + ":" + std::to_string(server.port);
}

ResolverPtr makeResolver(const DnsServer* server, std::chrono::milliseconds timeout) {
    ResolverPtr resolver;
    if (server == nullptr) {
        ldns_resolver* fromFile = nullptr;
        if (ldns_resolver_new_frm_file(&fromFile, nullptr) != LDNS_STATUS_OK)
            throw std::runtime_error("cannot read /etc/resolv.conf");
        resolver.reset(fromFile);
    } else {
        resolver.reset(ldns_resolver_new());
        const bool v6 = server->host.find(':') != std::string::npos;
        RdfPtr address(
            ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server->host.c_str()));
        if (!address) throw std::runtime_error("bad DNS server address " + server->host);
        ldns_resolver_push_nameserver(resolver.get(), address.get());
        ldns_resolver_set_port(resolver.get(), server->port);
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ldns_resolver_set_timeout(resolver.get(), tv);
    ldns_resolver_set_retry(resolver.get(), 1);
    ldns_resolver_set_recursive(resolver.get(), true);
    ldns_resolver_set_dnssec(resolver.get(), false);
    return resolver;
}

std::string rdfToName(const ldns_rdf* rdf) {
    char* text = ldns_rdf2str(rdf);
    std::string name = text ? text : "";
    free(text);
    if (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

// The strings of one TXT record, joined (RFC 7208 §3.3 style; ACME values fit in one string).
std::string joinTxtStrings(const ldns_rr* rr) {
    std::string value;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        const std::size_t size = ldns_rdf_size(rdf);
        const std::uint8_t* data = ldns_rdf_data(rdf);
        if (size == 0) continue;
        const std::size_t length = std::min<std::size_t>(data[0], size - 1);
        value.append(reinterpret_cast<const char*>(data + 1), length);
    }
    return value;
}

struct Answer {
    LookupOutcome outcome;
    std::vector<std::string> values;
    std::optional<std::string> cnameTarget;
    std::string detail;
};

Answer queryOnce(ldns_resolver* resolver, const std::string& name, const std::string& server) {
    RdfPtr qname(ldns_dname_new_frm_str(name.c_str()));
    if (!qname) return {LookupOutcome::Failed, {}, {}, "cannot encode name " + name};
    ldns_pkt* raw = nullptr;
    const ldns_status status = ldns_resolver_send(&raw, resolver, qname.get(), LDNS_RR_TYPE_TXT,
                                                  LDNS_RR_CLASS_IN, LDNS_RD);
    PacketPtr packet(raw);
    if (status != LDNS_STATUS_OK || !packet)
        return {LookupOutcome::Timeout,
                {},
                {},
                "no answer from " + server + " (" + ldns_get_errorstr_by_id(status) + ")"};
    switch (ldns_pkt_get_rcode(packet.get())) {
        case LDNS_RCODE_NOERROR:
            break;
        case LDNS_RCODE_NXDOMAIN:
            return {LookupOutcome::NxDomain, {}, {}, server + " answered NXDOMAIN for " + name};
        case LDNS_RCODE_SERVFAIL:
            return {LookupOutcome::ServFail, {}, {}, server + " answered SERVFAIL for " + name};
        default:
            return {LookupOutcome::Failed,
                    {},
                    {},
                    server + " answered rcode " + std::to_string(ldns_pkt_get_rcode(packet.get())) +
                        " for " + name};
    }
    Answer answer{LookupOutcome::NoRecords, {}, {}, ""};
    // Walk the answer section along the CNAME chain, as a recursive resolver may include it all.
    std::string current = name;
    const ldns_rr_list* records = ldns_pkt_answer(packet.get());
    for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
        RdfPtr owner(ldns_dname_new_frm_str(current.c_str()));
        std::optional<std::string> next;
        for (std::size_t i = 0; records && i < ldns_rr_list_rr_count(records); ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(records, i);
            if (ldns_dname_compare(ldns_rr_owner(rr), owner.get()) != 0) continue;
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT)
                answer.values.push_back(joinTxtStrings(rr));
            else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) > 0)
                next = rdfToName(ldns_rr_rdf(rr, 0));
        }
        if (!answer.values.empty()) {
            answer.outcome = LookupOutcome::Found;
            answer.cnameTarget = current == name ? std::nullopt : std::optional(current);
            return answer;
        }
        if (!next) break;
        current = *next;
        answer.cnameTarget = current;
    }
    answer.detail = server + " has no TXT record at " + current;
    return answer;
}

ldns_rr_type ldnsType(RecordType type) {
    switch (type) {
        case RecordType::Txt:
            return LDNS_RR_TYPE_TXT;
        case RecordType::Cname:
            return LDNS_RR_TYPE_CNAME;
        case RecordType::Soa:
            return LDNS_RR_TYPE_SOA;
        case RecordType::Ns:
            return LDNS_RR_TYPE_NS;
        case RecordType::A:
            return LDNS_RR_TYPE_A;
        case RecordType::Aaaa:
            return LDNS_RR_TYPE_AAAA;
    }
    return LDNS_RR_TYPE_TXT;
}

std::optional<DnsRecord> toRecord(const ldns_rr* rr) {
    DnsRecord record;
    record.owner = rdfToName(ldns_rr_owner(rr));
    const ldns_rr_type type = ldns_rr_get_type(rr);
    if (type == LDNS_RR_TYPE_TXT) {
        record.type = RecordType::Txt;
        record.data = joinTxtStrings(rr);
        return record;
    }
    if (ldns_rr_rd_count(rr) == 0) return std::nullopt;
    switch (type) {
        case LDNS_RR_TYPE_CNAME:
            record.type = RecordType::Cname;
            break;
        case LDNS_RR_TYPE_SOA:
            record.type = RecordType::Soa;
            break;
        case LDNS_RR_TYPE_NS:
            record.type = RecordType::Ns;
            break;
        case LDNS_RR_TYPE_A:
            record.type = RecordType::A;
            break;
        case LDNS_RR_TYPE_AAAA:
            record.type = RecordType::Aaaa;
            break;
        default:
            return std::nullopt;
    }
    record.data = rdfToName(ldns_rr_rdf(rr, 0));
    return record;
}

std::vector<DnsRecord> toRecords(const ldns_rr_list* list) {
    std::vector<DnsRecord> records;
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i)
        if (auto record = toRecord(ldns_rr_list_rr(list, i))) records.push_back(*record);
    return records;
}

}  // namespace

DnsResponse queryServer(const DnsServer* server, const std::string& name, RecordType type,
                        bool recursive, std::chrono::milliseconds timeout,
                        std::optional<DnsDeadline> deadline) {
    const std::string label = server ? describe(*server) : "system resolver";
    // What is left of the deadline, shared by the UDP question and a TCP one after truncation.
    auto remaining = [&] {
        if (!deadline) return timeout;
        return std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                     *deadline - std::chrono::steady_clock::now()));
    };
    auto deadlinePassed = [&] {
        return DnsResponse{LookupOutcome::Timeout,
                           {},
                           {},
                           "not asked: the check's deadline passed before " + label + " answered"};
    };
    std::chrono::milliseconds wait = remaining();
    if (wait.count() <= 0) return deadlinePassed();
    ResolverPtr resolver = makeResolver(server, wait);
    ldns_resolver_set_recursive(resolver.get(), recursive);
    // A truncated answer is asked again over TCP below, within the deadline (ldns's own fallback
    // would wait a full timeout again).
    ldns_resolver_set_fallback(resolver.get(), false);
    RdfPtr qname(ldns_dname_new_frm_str(name.c_str()));
    if (!qname) return {LookupOutcome::Failed, {}, {}, "cannot encode name " + name};
    ldns_pkt* raw = nullptr;
    ldns_status status = ldns_resolver_send(&raw, resolver.get(), qname.get(), ldnsType(type),
                                            LDNS_RR_CLASS_IN, recursive ? LDNS_RD : 0);
    PacketPtr packet(raw);
    if (status == LDNS_STATUS_OK && packet && ldns_pkt_tc(packet.get())) {
        // TCP connects, then waits for the answer: within a deadline each gets half of what is
        // left.
        wait = deadline ? remaining() / 2 : timeout;
        if (wait.count() <= 0) return deadlinePassed();
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(wait.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((wait.count() % 1000) * 1000);
        ldns_resolver_set_timeout(resolver.get(), tv);
        ldns_resolver_set_usevc(resolver.get(), true);
        raw = nullptr;
        status = ldns_resolver_send(&raw, resolver.get(), qname.get(), ldnsType(type),
                                    LDNS_RR_CLASS_IN, recursive ? LDNS_RD : 0);
        packet.reset(raw);
    }
    if (status != LDNS_STATUS_OK || !packet)
        return {LookupOutcome::Timeout,
                {},
                {},
                "no answer from " + label + " (" + ldns_get_errorstr_by_id(status) + ")"};
    DnsResponse response;
    switch (ldns_pkt_get_rcode(packet.get())) {
        case LDNS_RCODE_NOERROR:
            response.outcome = LookupOutcome::Found;
            break;
        case LDNS_RCODE_NXDOMAIN:
            response.outcome = LookupOutcome::NxDomain;
            response.detail = label + " answered NXDOMAIN for " + name;
            break;
        case LDNS_RCODE_SERVFAIL:
            return {LookupOutcome::ServFail, {}, {}, label + " answered SERVFAIL for " + name};
        default:
            return {LookupOutcome::Failed,
                    {},
                    {},
                    label + " answered rcode " + std::to_string(ldns_pkt_get_rcode(packet.get())) +
                        " for " + name};
    }
    response.answer = toRecords(ldns_pkt_answer(packet.get()));
    response.authority = toRecords(ldns_pkt_authority(packet.get()));
    return response;
}

std::string_view toString(LookupOutcome outcome) {
    switch (outcome) {
        case LookupOutcome::Found:
            return "found";
        case LookupOutcome::NoRecords:
            return "no TXT record";
        case LookupOutcome::NxDomain:
            return "NXDOMAIN";
        case LookupOutcome::ServFail:
            return "SERVFAIL";
        case LookupOutcome::Timeout:
            return "timeout";
        case LookupOutcome::Failed:
            return "DNS error";
    }
    return "DNS error";
}

DnsResolver::DnsResolver(std::vector<DnsServer> servers, std::chrono::milliseconds timeout)
    : servers_(std::move(servers)), timeout_(timeout) {}

DnsResolver DnsResolver::fromConfig(const Config& config) {
    return DnsResolver(config.dnsResolver.empty() ? std::vector<DnsServer>{}
                                                  : parseResolverList(config.dnsResolver),
                       config.dnsTimeout);
}

TxtLookup DnsResolver::lookupTxt(const std::string& name) const {
    std::vector<const DnsServer*> targets;
    for (const auto& server : servers_) targets.push_back(&server);
    if (targets.empty()) targets.push_back(nullptr);

    TxtLookup result;
    for (const DnsServer* server : targets) {
        const std::string label = server ? describe(*server) : "system resolver";
        ResolverPtr resolver = makeResolver(server, timeout_);
        std::string current = name;
        Answer answer;
        // A server that returns only the CNAME gets asked again for the target.
        for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
            answer = queryOnce(resolver.get(), current, label);
            if (answer.outcome != LookupOutcome::NoRecords || !answer.cnameTarget) break;
            current = *answer.cnameTarget;
            if (hop == kMaxCnameHops) answer.detail = "CNAME chain longer than 8 at " + name;
        }
        result.outcome = answer.outcome;
        result.values = std::move(answer.values);
        result.name = answer.cnameTarget.value_or(current);
        result.detail = answer.detail;
        if (answer.outcome != LookupOutcome::Timeout && answer.outcome != LookupOutcome::ServFail)
            break;
    }
    countDnsLookup(result.outcome);
    return result;
}

DnsResponse DnsResolver::query(const std::string& name, RecordType type,
                               std::optional<DnsDeadline> deadline) const {
    std::vector<const DnsServer*> targets;
    for (const auto& server : servers_) targets.push_back(&server);
    if (targets.empty()) targets.push_back(nullptr);
    DnsResponse response;
    for (const DnsServer* server : targets) {
        response = queryServer(server, name, type, true, timeout_, deadline);
        if (response.outcome != LookupOutcome::Timeout &&
            response.outcome != LookupOutcome::ServFail)
            break;
        if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
    }
    countDnsLookup(response.outcome);
    return response;
}

CnameLookup DnsResolver::lookupCname(const std::string& name) const {
    const DnsResponse response = query(name, RecordType::Cname);
    CnameLookup lookup;
    lookup.detail = response.detail;
    switch (response.outcome) {
        case LookupOutcome::Found:
            lookup.outcome = LookupOutcome::NoRecords;  // NOERROR: no CNAME unless one is here
            for (const auto& record : response.answer)
                if (record.type == RecordType::Cname && DnsName(record.owner) == DnsName(name)) {
                    lookup.outcome = LookupOutcome::Found;
                    lookup.target = DnsName(record.data);
                    break;
                }
            break;
        case LookupOutcome::NxDomain:
            lookup.outcome = LookupOutcome::NxDomain;
            break;
        default:
            lookup.outcome = response.outcome;  // ServFail, Timeout, Failed
            if (lookup.detail.empty()) lookup.detail = std::string(toString(response.outcome));
            break;
    }
    return lookup;
}

std::string DnsResolver::cnameTarget(const std::string& name) const {
    const CnameLookup lookup = lookupCname(name);
    return lookup.found() ? lookup.target.lowered() : "";
}

bool txtValuesContain(const std::vector<std::string>& values, std::string_view expected) {
    bool found = false;
    for (const auto& value : values) found = constantTimeEquals(value, expected) || found;
    return found;
}

}  // namespace dnsh
