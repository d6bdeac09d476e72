#pragma once
// IP addresses and networks for DNS_PRECHECK_ALLOW: which nameserver addresses the authoritative
// precheck may send a query to. Only public unicast addresses by default: a customer controls
// the NS and address records of their zone, and must not make the service probe the platform's
// own network (loopback, RFC 1918, link-local, ...) and show what answered.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// An IPv4 or IPv6 address; IPv4 is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one
// network list covers both.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool v4 = false;  // written as IPv4 (the bytes are the mapped form)
};

// The literal ("192.0.2.1", "2001:db8::1"), or nothing.
std::optional<IpAddress> parseIpAddress(std::string_view text);

// A CIDR network: "10.0.0.0/8", "fd00::/8"; a bare address is the network of that address
// alone (/32, /128).
struct IpNetwork {
    IpAddress base;
    int prefix = 0;  // in bits of the address as written (0..32 for IPv4, 0..128 for IPv6)
    bool contains(const IpAddress& address) const;
};

// "127.0.0.0/8, 10.0.0.0/8,fd00::/8" (empty: none). Throws std::invalid_argument saying which
// item is wrong and why (not an address, prefix out of range, bits set after the prefix).
std::vector<IpNetwork> parseNetworkList(std::string_view text);

// Why an address is not a public unicast one ("" when it is): loopback (127.0.0.0/8, ::1),
// private (RFC 1918, 100.64.0.0/10, fc00::/7, fec0::/10), link-local (169.254.0.0/16,
// fe80::/10), multicast (224.0.0.0/4, ff00::/8), unspecified (0.0.0.0/8, ::), reserved
// (240.0.0.0/4 with the broadcast address). An IPv6 address that carries an IPv4 one (mapped
// ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96) is judged by that IPv4 address.
std::string_view nonPublicKind(const IpAddress& address);

}  // namespace dnsh
