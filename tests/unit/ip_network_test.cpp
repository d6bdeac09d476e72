// Which nameserver addresses the authoritative precheck may ask: public unicast ones, and those in
// DNS_PRECHECK_ALLOW (README, the precheck's limits).
#include "config/ip_network.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace dnsh;

TEST_CASE("nonPublicKind: loopback, private, link-local, multicast, unspecified, reserved") {
    struct Case {
        std::string address, kind;
    };
    const std::vector<Case> cases{
        {"192.0.2.53", ""},  // public (documentation range, but routable as far as we know)
        {"8.8.8.8", ""},
        {"2001:db8::53", ""},
        {"127.0.0.1", "loopback"},
        {"127.150.3.4", "loopback"},
        {"::1", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", ""},
        {"192.168.1.1", "private"},
        {"100.64.0.1", "private"},  // RFC 6598 shared address space
        {"fd12:3456::1", "private"},
        {"fc00::1", "private"},
        {"fec0::1", "private"},
        {"169.254.169.254", "link-local"},  // cloud metadata services live here
        {"fe80::1", "link-local"},
        {"224.0.0.251", "multicast"},
        {"239.255.255.250", "multicast"},
        {"ff02::fb", "multicast"},
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"::", "unspecified"},
        {"255.255.255.255", "reserved"},
        {"240.0.0.1", "reserved"},
        // IPv6 forms that carry an IPv4 address are judged by it.
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.0.0.1", "private"},
        {"::ffff:8.8.8.8", ""},
        {"64:ff9b::a9fe:a9fe", "link-local"},  // NAT64 of 169.254.169.254
        {"64:ff9b::808:808", ""},
        {"64:ff9b:1::a00:35", "private"},  // RFC 8215 local-use NAT64, whatever it carries
        {"64:ff9b:1:ff00::808:808", "private"},
        {"2002:a00:35::1", "private"},  // 6to4 of 10.0.0.53
        {"2002:7f00:1::1", "loopback"},  // 6to4 of 127.0.0.1
        {"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
        {"::127.0.0.1", "loopback"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.address);
        const auto address = parseIpAddress(c.address);
        REQUIRE(address.has_value());
        CHECK(nonPublicKind(*address) == c.kind);
    }
    CHECK_FALSE(parseIpAddress("ns1.example.com").has_value());
    CHECK_FALSE(parseIpAddress("127.1").has_value());
}

TEST_CASE("IpNetwork::contains: IPv4 and IPv6 prefixes, IPv4-mapped addresses") {
    struct Case {
        std::string network, address;
        bool inside;
    };
    const std::vector<Case> cases{
        {"127.0.0.0/8", "127.200.1.2", true},
        {"127.0.0.0/8", "128.0.0.1", false},
        {"10.0.0.0/8", "10.255.255.255", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"172.16.0.0/12", "172.31.0.1", true},
        {"172.16.0.0/12", "172.32.0.1", false},
        {"192.0.2.7", "192.0.2.7", true},
        {"192.0.2.7", "192.0.2.8", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "2001:db8::1", false},  // an IPv4 network holds IPv4 addresses only
        {"127.0.0.0/8", "::ffff:127.0.0.1", true},
        {"fd00::/8", "fd12::1", true},
        {"fd00::/8", "fc12::1", false},
        {"::/0", "2001:db8::1", true},
        {"::1/128", "::1", true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.network);
        CAPTURE(c.address);
        const auto networks = parseNetworkList(c.network);
        REQUIRE(networks.size() == 1);
        const auto address = parseIpAddress(c.address);
        REQUIRE(address.has_value());
        CHECK(networks[0].contains(*address) == c.inside);
    }
}

TEST_CASE("parseNetworkList: the list and what is wrong with an item") {
    CHECK(parseNetworkList("").empty());
    CHECK(parseNetworkList("  ").empty());
    CHECK(parseNetworkList("127.0.0.0/8,10.0.0.0/8 , fd00::/8").size() == 3);
    struct Case {
        std::string text, message;
    };
    const std::vector<Case> cases{
        {"127.0.0.0/33", "prefix"},
        {"fd00::/129", "prefix"},
        {"10.0.0.0/x", "prefix"},
        {"10.1.2.3/8", "bits set"},
        {"fd00::1/8", "bits set"},
        {"internal", "not an IPv4 or IPv6 address"},
        {"10.0.0.0/8,,fd00::/8", "empty item"},
        {"10.0.0.0/8,", "empty item"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        CHECK_THROWS_WITH_AS(parseNetworkList(c.text), doctest::Contains(c.message.c_str()),
                             std::invalid_argument);
    }
}
