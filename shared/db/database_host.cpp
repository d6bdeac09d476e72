#include "db/database_host.hpp"

#include <Poco/String.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "config/ip_network.hpp"
#include "db/database.hpp"

namespace dnsh {

namespace {

// libpq's comma-separated lists (host, hostaddr: libpq "Specifying Multiple Hosts"), empty items
// kept (an empty host is libpq's default socket).
std::vector<std::string> libpqListItems(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        items.push_back(text.substr(start, comma - start));
        if (comma == std::string::npos) return items;
        start = comma + 1;
    }
}

bool localServer(std::string_view host) {
    // No host: libpq's compiled-in socket directory. A leading '/' or '@' is a socket
    // directory or an abstract socket (libpq "Parameter Key Words", host).
    if (host.empty() || host.front() == '/' || host.front() == '@') return true;
    if (Poco::icompare(std::string(host), "localhost") == 0) return true;
    const auto address = parseIpAddress(host);
    return address && nonPublicKind(*address) == "loopback";
}

}  // namespace

bool databaseOnThisHost(const std::string& databaseUrl) {
    std::string host, hostaddr;
    bool service = false;
    for (const auto& [keyword, value] : connectionParameters(databaseUrl)) {
        if (keyword == "host") host = value;
        if (keyword == "hostaddr") hostaddr = value;
        if (keyword == "service") service = true;
    }
    // A service names its server in a pg_service.conf that libpq reads only when it connects:
    // without a host of its own here, where it points is unknown, so not this host.
    if (service && host.empty() && hostaddr.empty()) return false;
    const std::vector<std::string> hosts = libpqListItems(host);
    const std::vector<std::string> addresses = libpqListItems(hostaddr);
    const std::size_t servers = std::max(hosts.size(), addresses.size());
    for (std::size_t i = 0; i < servers; ++i) {
        // hostaddr, when given for a server, is where libpq connects (host is then only the
        // name TLS and the password file see).
        const std::string& address = i < addresses.size() ? addresses[i] : std::string();
        const std::string& name = i < hosts.size() ? hosts[i] : std::string();
        if (!localServer(address.empty() ? name : address)) return false;
    }
    return true;
}

}  // namespace dnsh
