#pragma once
// DNS server lists in settings (DNS_RESOLVER, DNS_UPDATE_SERVER): parsed where the settings are
// checked (config/config.cpp) and by the DNS code that asks the servers (dns/).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

struct DnsServer {
    std::string host;  // IPv4 or IPv6 literal
    std::uint16_t port = 53;
};

// "host[:port][,host[:port]]", IPv6 as "[::1]:53". Throws std::invalid_argument.
std::vector<DnsServer> parseResolverList(std::string_view text);

}  // namespace dnsh
