#include "config/server_list.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace dnsh {

namespace {

bool isIpLiteral(const std::string& host, int family) {
    unsigned char buffer[16];
    return inet_pton(family, host.c_str(), buffer) == 1;
}

}  // namespace

std::vector<DnsServer> parseResolverList(std::string_view text) {
    std::vector<DnsServer> servers;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        std::string_view item = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) throw std::invalid_argument("empty server in list");
        DnsServer server;
        std::optional<std::string_view> portText;
        if (item.front() == '[') {
            const std::size_t close = item.find(']');
            if (close == std::string_view::npos) throw std::invalid_argument("missing ']'");
            server.host = std::string(item.substr(1, close - 1));
            if (!isIpLiteral(server.host, AF_INET6))
                throw std::invalid_argument("brackets are for IPv6 addresses only");
            const std::string_view rest = item.substr(close + 1);
            if (!rest.empty()) {
                if (rest.front() != ':') throw std::invalid_argument("expected ':' after ']'");
                portText = rest.substr(1);
            }
        } else if (item.find(':') != item.rfind(':')) {
            server.host = std::string(item);  // bare IPv6 literal, default port
        } else if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
            server.host = std::string(item.substr(0, colon));
            portText = item.substr(colon + 1);
        } else {
            server.host = std::string(item);
        }
        if (!isIpLiteral(server.host, AF_INET) && !isIpLiteral(server.host, AF_INET6))
            throw std::invalid_argument("'" + server.host + "' is not an IP address");
        if (portText) {
            unsigned port = 0;
            const char* first = portText->data();
            const char* last = first + portText->size();
            auto [end, ec] = std::from_chars(first, last, port);
            if (ec != std::errc() || end != last || port == 0 || port > 65535)
                throw std::invalid_argument("bad port '" + std::string(*portText) + "'");
            server.port = static_cast<std::uint16_t>(port);
        }
        servers.push_back(server);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return servers;
}

}  // namespace dnsh
