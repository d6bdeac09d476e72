// resolver.hpp's resolvConfServers: the nameservers of a resolv.conf as ldns reads them.
#include "dns/resolver.hpp"

// Last: it ends with the ldns headers, whose macros break later C++ standard headers.
#include "dns/ldns_support.hpp"

namespace dnsh {

std::vector<DnsServer> resolvConfServers(const std::string& path) {
    ldns_resolver* raw = nullptr;
    if (ldns_resolver_new_frm_file(&raw, path.c_str()) != LDNS_STATUS_OK) return {};
    const LdnsResolverPtr fromFile(raw);
    std::vector<DnsServer> servers;
    ldns_rdf** addresses = ldns_resolver_nameservers(fromFile.get());
    const std::uint16_t port = ldns_resolver_port(fromFile.get());  // 53: resolv.conf names none
    for (std::size_t i = 0; i < ldns_resolver_nameserver_count(fromFile.get()); ++i) {
        char* text = ldns_rdf2str(addresses[i]);
        if (text != nullptr) servers.push_back({text, port});
        free(text);
    }
    return servers;
}

}  // namespace dnsh
