#pragma once
// What dns/'s ldns code shares: owning pointers with one deleter, a resolver set up for one
// server, and names to and from ldns. Include it last: ldns headers define macros (e.g. `false`)
// that break C++ standard headers included after them.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "config/server_list.hpp"
#include "dns/dns_name.hpp"

// Last (see above).
#include <ldns/ldns.h>

namespace dnsh {

struct LdnsDeleter {
    void operator()(ldns_resolver* resolver) const { ldns_resolver_deep_free(resolver); }
    void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
    void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};
using LdnsResolverPtr = std::unique_ptr<ldns_resolver, LdnsDeleter>;
using LdnsPacketPtr = std::unique_ptr<ldns_pkt, LdnsDeleter>;
using LdnsRdfPtr = std::unique_ptr<ldns_rdf, LdnsDeleter>;
using LdnsRrListPtr = std::unique_ptr<ldns_rr_list, LdnsDeleter>;

// "host:port" ("[v6]:port"), or "system resolver" for nullptr (/etc/resolv.conf): how errors
// name the server.
std::string serverLabel(const DnsServer* server);

// A resolver that asks `server` (nullptr: the servers of /etc/resolv.conf) once per question,
// each wait at most `timeout`, without DNSSEC. Throws std::runtime_error for an address ldns
// cannot parse or an unreadable /etc/resolv.conf.
LdnsResolverPtr makeLdnsResolver(const DnsServer* server, std::chrono::milliseconds timeout);

void setLdnsTimeout(ldns_resolver* resolver, std::chrono::milliseconds timeout);

// The name in wire form, absolute (nullptr when ldns cannot encode it).
LdnsRdfPtr toLdnsName(const DnsName& name);
DnsName fromLdnsName(const ldns_rdf* rdf);

}  // namespace dnsh
