#include "dns/ldns_support.hpp"  // ends with the ldns headers: nothing after it

namespace dnsh {

std::string serverLabel(const DnsServer* server) {
    if (server == nullptr) return "system resolver";
    if (server->host.find(':') != std::string::npos)
        return "[" + server->host + "]:" + std::to_string(server->port);
    return server->host + ":" + std::to_string(server->port);
}

LdnsResolverPtr makeLdnsResolver(const DnsServer* server, std::chrono::milliseconds timeout) {
    LdnsResolverPtr resolver;
    if (server == nullptr) {
        ldns_resolver* fromFile = nullptr;
        if (ldns_resolver_new_frm_file(&fromFile, nullptr) != LDNS_STATUS_OK)
            throw std::runtime_error("cannot read /etc/resolv.conf");
        resolver.reset(fromFile);
    } else {
        resolver.reset(ldns_resolver_new());
        const bool v6 = server->host.find(':') != std::string::npos;
        LdnsRdfPtr address(
            ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server->host.c_str()));
        if (!address) throw std::runtime_error("bad DNS server address " + server->host);
        ldns_resolver_push_nameserver(resolver.get(), address.get());  // copies it
        ldns_resolver_set_port(resolver.get(), server->port);
    }
    setLdnsTimeout(resolver.get(), timeout);
    ldns_resolver_set_retry(resolver.get(), 1);
    ldns_resolver_set_dnssec(resolver.get(), false);
    return resolver;
}

void setLdnsTimeout(ldns_resolver* resolver, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ldns_resolver_set_timeout(resolver, tv);
}

LdnsRdfPtr toLdnsName(const DnsName& name) {
    return LdnsRdfPtr(ldns_dname_new_frm_str(name.fqdn().c_str()));
}

DnsName fromLdnsName(const ldns_rdf* rdf) {
    char* text = ldns_rdf2str(rdf);
    DnsName name(text ? text : "");
    free(text);
    return name;
}

}  // namespace dnsh
