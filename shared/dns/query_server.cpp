// resolver.hpp's queryServer: one question to one server with ldns, its answer turned into
// DnsRecords, asked again over TCP when truncated. The rest of the resolver needs no ldns.
#include "dns/resolver.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>

#include "dns/dns_tcp.hpp"

// Last: it ends with the ldns headers, whose macros break later C++ standard headers.
#include "dns/ldns_support.hpp"

namespace dnsh {

namespace {

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

constexpr std::pair<RecordType, ldns_rr_type> kLdnsTypes[]{
    {RecordType::Txt, LDNS_RR_TYPE_TXT}, {RecordType::Cname, LDNS_RR_TYPE_CNAME},
    {RecordType::Soa, LDNS_RR_TYPE_SOA}, {RecordType::Ns, LDNS_RR_TYPE_NS},
    {RecordType::A, LDNS_RR_TYPE_A},     {RecordType::Aaaa, LDNS_RR_TYPE_AAAA},
    {RecordType::Caa, LDNS_RR_TYPE_CAA},
};

// A record's RDATA in wire form: ldns splits CAA into flags, tag (with its length byte) and value
// (or keeps one unknown-type field), each field holding its wire bytes, so joined they are the
// RDATA as sent (RFC 8659 §4.1).
std::string wireRdata(const ldns_rr* rr) {
    std::string rdata;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        rdata.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
    }
    return rdata;
}

ldns_rr_type ldnsType(RecordType type) {
    for (const auto& [ours, theirs] : kLdnsTypes)
        if (ours == type) return theirs;
    return LDNS_RR_TYPE_TXT;
}

std::optional<DnsRecord> toRecord(const ldns_rr* rr) {
    const ldns_rr_type type = ldns_rr_get_type(rr);
    for (const auto& [ours, theirs] : kLdnsTypes) {
        if (theirs != type) continue;
        DnsRecord record{fromLdnsName(ldns_rr_owner(rr)), ours, ""};
        if (ours == RecordType::Txt) {
            record.data = joinTxtStrings(rr);
        } else if (ours == RecordType::Caa) {
            record.data = wireRdata(rr);
        } else {
            if (ldns_rr_rd_count(rr) == 0) return std::nullopt;
            // Names without the trailing dot (DnsName's text), addresses as they are.
            record.data = fromLdnsName(ldns_rr_rdf(rr, 0)).text();
        }
        return record;
    }
    return std::nullopt;
}

std::vector<DnsRecord> toRecords(const ldns_rr_list* list) {
    std::vector<DnsRecord> records;
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i)
        if (auto record = toRecord(ldns_rr_list_rr(list, i))) records.push_back(*record);
    return records;
}

// The question asked again over TCP of `address` (the server whose UDP answer was truncated; the
// resolver's first when ldns did not say) at the resolver's port, the whole exchange by `end`
// (dns/dns_tcp.hpp). nullptr and `why` when no answer came.
LdnsPacketPtr askAgainOverTcp(ldns_resolver* resolver, const ldns_rdf* address,
                              const ldns_rdf* qname, ldns_rr_type type, std::uint16_t flags,
                              std::chrono::steady_clock::time_point end, std::string& why) {
    if (address == nullptr && ldns_resolver_nameserver_count(resolver) > 0)
        address = ldns_resolver_nameservers(resolver)[0];
    std::size_t toLength = 0;
    sockaddr_storage* to =
        address ? ldns_rdf2native_sockaddr_storage(address, ldns_resolver_port(resolver), &toLength)
                : nullptr;
    const std::unique_ptr<sockaddr_storage, decltype(&free)> toOwned(to, &free);
    if (to == nullptr) {
        why = "no address to ask";
        return nullptr;
    }
    ldns_pkt* raw = nullptr;
    const ldns_status made =
        ldns_resolver_prepare_query_pkt(&raw, resolver, qname, type, LDNS_RR_CLASS_IN, flags);
    const LdnsPacketPtr query(raw);
    if (made != LDNS_STATUS_OK || !query) {
        why = "cannot make the question";
        return nullptr;
    }
    std::uint8_t* wire = nullptr;
    std::size_t wireSize = 0;
    const ldns_status encoded = ldns_pkt2wire(&wire, query.get(), &wireSize);
    const std::unique_ptr<std::uint8_t, decltype(&free)> wireOwned(wire, &free);
    if (encoded != LDNS_STATUS_OK) {
        why = "cannot encode the question";
        return nullptr;
    }
    const TcpAnswer answer =
        askOverTcp(*to, static_cast<socklen_t>(toLength),
                   std::string_view(reinterpret_cast<const char*>(wire), wireSize), end);
    if (!answer.ok()) {
        why = answer.error;
        return nullptr;
    }
    raw = nullptr;
    const ldns_status parsed =
        ldns_wire2pkt(&raw, reinterpret_cast<const std::uint8_t*>(answer.wire.data()),
                      answer.wire.size());
    LdnsPacketPtr reply(raw);
    if (parsed != LDNS_STATUS_OK || !reply) {
        why = std::string("unreadable answer: ") + ldns_get_errorstr_by_id(parsed);
        return nullptr;
    }
    if (ldns_pkt_id(reply.get()) != ldns_pkt_id(query.get())) {
        why = "the answer's id is not the question's";
        return nullptr;
    }
    return reply;
}

// A UDP answer ldns could not read: what a server sends that truncates at its size limit by
// cutting the datagram (TC set, RFC 1035 §4.1.1; RFC 2181 §9 only recommends dropping whole
// RRsets). ldns parses the reply before anyone sees its TC bit and returns no packet, so this is
// as good as TC: ask again over TCP (RFC 7766 §5), as the CA's resolver does. Where the cut
// lands decides the status (wire2host.c): in fixed fields, RDATA or a compression pointer,
// WIRE_INCOMPLETE_*; inside an uncompressed owner name, LABEL_OVERFLOW (the label runs past the
// end) or DOMAINNAME_OVERFLOW. Any other unreadable datagram is asked again too: it costs one TCP
// try within the same deadline.
bool unreadable(ldns_status status) {
    switch (status) {
        case LDNS_STATUS_WIRE_INCOMPLETE_HEADER:
        case LDNS_STATUS_WIRE_INCOMPLETE_QUESTION:
        case LDNS_STATUS_WIRE_INCOMPLETE_ANSWER:
        case LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY:
        case LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL:
        case LDNS_STATUS_PACKET_OVERFLOW:
        case LDNS_STATUS_LABEL_OVERFLOW:
        case LDNS_STATUS_DOMAINNAME_OVERFLOW:
        case LDNS_STATUS_INVALID_POINTER:
        case LDNS_STATUS_WIRE_RDATA_ERR:
            return true;
        default:
            return false;
    }
}

}  // namespace

DnsResponse queryServer(const DnsServer* server, const DnsName& name, RecordType type,
                        bool recursive, std::chrono::milliseconds timeout,
                        std::optional<DnsDeadline> deadline) {
    const std::string label = serverLabel(server);
    // What is left of the deadline, shared by the UDP question and a TCP one after truncation.
    // Rounded up: a wait the deadline cut ends at or after it, never a fraction of a millisecond
    // before, so a caller telling a lookup cut by its deadline from one that timed out (the CAA
    // budget, issuance/caa_lookups.hpp) sees the deadline passed.
    auto remaining = [&] {
        if (!deadline) return timeout;
        return std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(
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
    LdnsResolverPtr resolver = makeLdnsResolver(server, wait);
    ldns_resolver_set_recursive(resolver.get(), recursive);
    // A truncated answer is asked again over TCP below, within the deadline (ldns's own fallback
    // would wait a full timeout again, and that for each read of the answer).
    ldns_resolver_set_fallback(resolver.get(), false);
    LdnsRdfPtr qname = toLdnsName(name);
    if (!qname) return {LookupOutcome::Failed, {}, {}, "cannot encode name " + name.text()};
    ldns_pkt* raw = nullptr;
    ldns_status status = ldns_resolver_send(&raw, resolver.get(), qname.get(), ldnsType(type),
                                            LDNS_RR_CLASS_IN, recursive ? LDNS_RD : 0);
    LdnsPacketPtr packet(raw);
    // ldns's UDP send reports a socket that could not be made or a datagram the kernel refused
    // at once (ENETUNREACH: no route, as to an IPv6 address on a host without IPv6) as
    // SOCKET_ERROR, and a question sent but not answered in time as NETWORK_ERR.
    if (status == LDNS_STATUS_SOCKET_ERROR)
        return {LookupOutcome::Unreachable, {}, {}, "could not send to " + label + " (" +
                                                        ldns_get_errorstr_by_id(status) + ")"};
    const bool truncated = status == LDNS_STATUS_OK && packet && ldns_pkt_tc(packet.get());
    if (truncated || unreadable(status)) {
        // Connecting, sending and reading the whole answer end by one time: what is left of the
        // deadline or a full timeout, whichever is shorter. (ldns's TCP reader waits its timeout
        // for every read: a server announcing 65535 bytes and sending one every few seconds
        // held a worker for days.) A cut answer gives no packet to say who sent it: the
        // resolver's first server, its only one when `server` is given.
        wait = remaining();
        if (wait.count() <= 0) return deadlinePassed();
        std::string why;
        LdnsPacketPtr overTcp = askAgainOverTcp(
            resolver.get(), packet ? ldns_pkt_answerfrom(packet.get()) : nullptr, qname.get(),
            ldnsType(type), recursive ? LDNS_RD : 0, std::chrono::steady_clock::now() + wait,
            why);
        if (!overTcp)
            return {LookupOutcome::Timeout, {}, {}, "no answer from " + label + " over TCP (" +
                                                        why + ")"};
        packet = std::move(overTcp);
        status = LDNS_STATUS_OK;
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
            response.detail = label + " answered NXDOMAIN for " + name.text();
            break;
        case LDNS_RCODE_SERVFAIL:
            return {
                LookupOutcome::ServFail, {}, {}, label + " answered SERVFAIL for " + name.text()};
        default:
            return {LookupOutcome::Failed,
                    {},
                    {},
                    label + " answered rcode " + std::to_string(ldns_pkt_get_rcode(packet.get())) +
                        " for " + name.text()};
    }
    response.answer = toRecords(ldns_pkt_answer(packet.get()));
    response.authority = toRecords(ldns_pkt_authority(packet.get()));
    return response;
}

}  // namespace dnsh
