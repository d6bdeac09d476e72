// DNS_RESOLVER parsing, TXT value matching and lookup outcome names (no network).
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

using namespace dnsh;

TEST_CASE("parseResolverList accepts IP literals with optional ports") {
    struct Server {
        std::string host;
        std::uint16_t port;
    };
    struct Case {
        std::string description;
        std::string text;
        std::vector<Server> expected;
    };
    const std::vector<Case> cases{
        {"IPv4, default port", "127.0.0.1", {{"127.0.0.1", 53}}},
        {"IPv4 with port", "127.0.0.1:8053", {{"127.0.0.1", 8053}}},
        {"bracketed IPv6 with port", "[::1]:53", {{"::1", 53}}},
        {"bracketed IPv6 with other port", "[2001:db8::1]:5353", {{"2001:db8::1", 5353}}},
        {"bracketed IPv6 without port", "[::1]", {{"::1", 53}}},
        {"bare IPv6", "::1", {{"::1", 53}}},
        {"bare full IPv6", "2001:db8::53", {{"2001:db8::53", 53}}},
        {"two servers", "1.1.1.1,8.8.8.8:5353", {{"1.1.1.1", 53}, {"8.8.8.8", 5353}}},
        {"spaces around commas", "1.1.1.1 , 8.8.8.8:5353", {{"1.1.1.1", 53}, {"8.8.8.8", 5353}}},
        {"spaces at both ends", "  127.0.0.1  ", {{"127.0.0.1", 53}}},
        {"mixed families",
         "127.0.0.1:8053, [::1]:8053, ::2",
         {{"127.0.0.1", 8053}, {"::1", 8053}, {"::2", 53}}},
        {"highest port", "127.0.0.1:65535", {{"127.0.0.1", 65535}}},
        {"lowest port", "127.0.0.1:1", {{"127.0.0.1", 1}}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        std::vector<DnsServer> servers;
        REQUIRE_NOTHROW(servers = parseResolverList(c.text));
        REQUIRE(servers.size() == c.expected.size());
        for (std::size_t i = 0; i < servers.size(); ++i) {
            CAPTURE(i);
            CHECK(servers[i].host == c.expected[i].host);
            CHECK(servers[i].port == c.expected[i].port);
        }
    }
}

TEST_CASE("parseResolverList rejects bad lists with std::invalid_argument") {
    struct Case {
        std::string description;
        std::string text;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"only spaces", "   "},
        {"host name", "host.example:53"},
        {"host name without port", "localhost"},
        {"port zero", "127.0.0.1:0"},
        {"port above 65535", "127.0.0.1:70000"},
        {"port not a number", "127.0.0.1:abc"},
        {"empty port", "127.0.0.1:"},
        {"negative port", "127.0.0.1:-53"},
        {"port with trailing text", "127.0.0.1:53x"},
        {"unclosed bracket", "[::1"},
        {"IPv4 in brackets", "[1.2.3.4]:53"},
        {"junk after bracket", "[::1]53"},
        {"empty brackets", "[]:53"},
        {"empty item between commas", "1.2.3.4,,5.6.7.8"},
        {"trailing comma", "1.2.3.4,"},
        {"leading comma", ",1.2.3.4"},
        {"incomplete IPv4", "1.2.3"},
        {"IPv4 octet out of range", "256.1.1.1"},
        {"one bad item among good ones", "1.1.1.1,example.com,8.8.8.8"},
        {"URL", "udp://1.1.1.1:53"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        CHECK_THROWS_AS(parseResolverList(c.text), std::invalid_argument);
    }
}

TEST_CASE("txtValuesContain needs an exact match of one whole value") {
    const std::string token(64, 'a');
    struct Case {
        std::string description;
        std::vector<std::string> values;
        std::string expected;
        bool result;
    };
    const std::vector<Case> cases{
        {"no values", {}, token, false},
        {"only value matches", {token}, token, true},
        {"match among others", {"v=spf1 -all", token, "other"}, token, true},
        {"match is last", {"x", "y", token}, token, true},
        {"different value", {std::string(64, 'b')}, token, false},
        {"case differs", {"ABC"}, "abc", false},
        {"value is a prefix of the token", {token.substr(0, 63)}, token, false},
        {"value has the token plus more", {token + "b"}, token, false},
        {"value with surrounding spaces", {" " + token + " "}, token, false},
        {"token split over two values", {token.substr(0, 32), token.substr(32)}, token, false},
        {"empty expected, no empty value", {token}, "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(txtValuesContain(c.values, c.expected) == c.result);
    }
}

TEST_CASE("LookupOutcome names used in 424 messages") {
    struct Case {
        std::string description;
        LookupOutcome outcome;
        std::string name;
    };
    const std::vector<Case> cases{
        {"NXDOMAIN", LookupOutcome::NxDomain, "NXDOMAIN"},
        {"SERVFAIL", LookupOutcome::ServFail, "SERVFAIL"},
        {"timeout", LookupOutcome::Timeout, "timeout"},
        {"no TXT record", LookupOutcome::NoRecords, "no TXT record"},
        {"found", LookupOutcome::Found, "found"},
        {"other DNS error", LookupOutcome::Failed, "DNS error"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(std::string(toString(c.outcome)) == c.name);
    }
}
