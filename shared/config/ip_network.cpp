#include "config/ip_network.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace dnsh {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// The bits of `a` and `b` agree over their first `bits`.
bool samePrefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                int bits) {
    for (int i = 0; bits > 0; ++i, bits -= 8) {
        const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

std::string_view ipv4Kind(const std::uint8_t* a) {
    if (a[0] == 0) return "unspecified";  // 0.0.0.0/8, "this network"
    if (a[0] == 127) return "loopback";
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
        return "private";                                       // RFC 1918
    if (a[0] == 100 && (a[1] & 0xc0) == 64) return "private";  // RFC 6598 shared (CGNAT)
    if (a[0] == 169 && a[1] == 254) return "link-local";
    if ((a[0] & 0xf0) == 224) return "multicast";
    if ((a[0] & 0xf0) == 240) return "reserved";  // with 255.255.255.255
    return "";
}

}  // namespace

std::optional<IpAddress> parseIpAddress(std::string_view text) {
    const std::string literal(text);
    IpAddress address;
    unsigned char v4[4];
    if (inet_pton(AF_INET, literal.c_str(), v4) == 1) {
        std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin());
        std::copy(v4, v4 + 4, address.bytes.begin() + 12);
        address.v4 = true;
        return address;
    }
    if (inet_pton(AF_INET6, literal.c_str(), address.bytes.data()) == 1) return address;
    return std::nullopt;
}

bool IpNetwork::contains(const IpAddress& address) const {
    // IPv4 networks hold the mapped form: their prefix counts from bit 96.
    return samePrefix(base.bytes, address.bytes, base.v4 ? 96 + prefix : prefix);
}

std::vector<IpNetwork> parseNetworkList(std::string_view text) {
    std::vector<IpNetwork> networks;
    if (text.find_first_not_of(' ') == std::string_view::npos) return networks;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        std::string_view item = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) throw std::invalid_argument("an empty item in the list");
        const std::size_t slash = item.find('/');
        const std::string_view addressText = item.substr(0, slash);
        const auto address = parseIpAddress(addressText);
        if (!address)
            throw std::invalid_argument("'" + std::string(addressText) +
                                        "' is not an IPv4 or IPv6 address");
        IpNetwork network{*address, address->v4 ? 32 : 128};
        if (slash != std::string_view::npos) {
            const std::string_view prefixText = item.substr(slash + 1);
            int prefix = -1;
            const auto [end, ec] =
                std::from_chars(prefixText.data(), prefixText.data() + prefixText.size(), prefix);
            if (ec != std::errc() || end != prefixText.data() + prefixText.size() ||
                prefixText.empty() || prefix < 0 || prefix > network.prefix)
                throw std::invalid_argument("bad prefix length in '" + std::string(item) +
                                            "' (0.." + std::to_string(network.prefix) + ")");
            network.prefix = prefix;
        }
        // "10.1.2.3/8" is most likely a typing error for 10.0.0.0/8 or 10.1.2.3/32: refuse it.
        IpAddress masked{};
        masked.v4 = address->v4;
        if (address->v4) std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), masked.bytes.begin());
        const int bits = address->v4 ? 96 + network.prefix : network.prefix;
        for (int i = 0; i < 16; ++i) {
            const int left = bits - 8 * i;
            const auto mask =
                static_cast<std::uint8_t>(left >= 8 ? 0xff : left <= 0 ? 0 : 0xff << (8 - left));
            masked.bytes[i] = address->bytes[i] & mask;
        }
        if (masked.bytes != address->bytes)
            throw std::invalid_argument("'" + std::string(item) +
                                        "' has bits set after its prefix length");
        networks.push_back(network);
    }
    return networks;
}

std::string_view nonPublicKind(const IpAddress& address) {
    const auto& b = address.bytes;
    if (address.v4 || std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), b.begin()))
        return ipv4Kind(b.data() + 12);
    const std::array<std::uint8_t, 16> zero{};
    if (b == zero) return "unspecified";
    std::array<std::uint8_t, 16> loopback{};
    loopback[15] = 1;
    if (b == loopback) return "loopback";
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) carry an IPv4 address
    // that a gateway may reach on our side.
    const std::array<std::uint8_t, 16> nat64{0, 0x64, 0xff, 0x9b};
    if (samePrefix(b, zero, 96) || samePrefix(b, nat64, 96)) {
        const std::string_view kind = ipv4Kind(b.data() + 12);
        return kind.empty() && samePrefix(b, zero, 96) ? "reserved" : kind;
    }
    // RFC 8215 §3: 64:ff9b:1::/48 is for NAT64 inside one network, where its IPv4 address may
    // sit at any of RFC 6052's offsets: never a public server's address, whatever it carries.
    const std::array<std::uint8_t, 16> localNat64{0, 0x64, 0xff, 0x9b, 0, 0x01};
    if (samePrefix(b, localNat64, 48)) return "private";
    // 6to4 (RFC 3056 §2): 2002:V4ADDR::/48, a relay delivers it to the IPv4 address it carries.
    if (b[0] == 0x20 && b[1] == 0x02) return ipv4Kind(b.data() + 2);
    if (b[0] == 0xff) return "multicast";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";  // site-local, deprecated
    if ((b[0] & 0xfe) == 0xfc) return "private";                  // unique local fc00::/7
    return "";
}

}  // namespace dnsh
