// DnsName: case-insensitive equality (RFC 4343), parent, isPartOf and the text with or without
// the trailing dot, from tables.
#include "dns/dns_name.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using dnsh::DnsName;

TEST_CASE("DnsName: equality ignores the case of ASCII letters and the trailing dot") {
    struct Case {
        std::string a, b;
        bool equal;
    };
    const std::vector<Case> cases{
        {"shop.example.com", "shop.example.com", true},
        {"Shop.EXAMPLE.com", "shop.example.com", true},
        {"shop.example.com.", "SHOP.example.COM", true},
        {"_ACME-Challenge.Shop.Example.Com", "_acme-challenge.shop.example.com", true},
        {"Value-1A.Played-Zone.TEST", "value-1a.played-zone.test", true},
        {"", ".", true},                                   // the root, both ways
        {"shop.example.com", "shop.example.org", false},
        {"shop.example.com", "shop.example.com.example", false},
        {"shop.example.com", "hop.example.com", false},
        {"a-b.example", "a_b.example", false},             // only letters fold
        {"caf\\195\\169.example", "CAF\\195\\169.example", true},  // escapes kept, letters fold
        {"a\\.b.example", "a.b.example", false},           // an escaped dot is no boundary
    };
    for (const auto& c : cases) {
        CAPTURE(c.a);
        CAPTURE(c.b);
        CHECK((DnsName(c.a) == DnsName(c.b)) == c.equal);
        CHECK((DnsName(c.b) == DnsName(c.a)) == c.equal);
    }
}

TEST_CASE("DnsName: text with and without the trailing dot, the case kept, lowered()") {
    struct Case {
        std::string input, text, fqdn, lowered;
    };
    const std::vector<Case> cases{
        {"Shop.Example.com", "Shop.Example.com", "Shop.Example.com.", "shop.example.com"},
        {"Shop.Example.com.", "Shop.Example.com", "Shop.Example.com.", "shop.example.com"},
        {"", "", ".", ""},
        {".", "", ".", ""},
        {"a\\.", "a\\.", "a\\..", "a\\."},  // the escaped dot belongs to the label
        {"a\\\\.", "a\\\\", "a\\\\.", "a\\\\"},  // an escaped backslash, then the trailing dot
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        const DnsName name(c.input);
        CHECK(name.text() == c.text);
        CHECK(name.fqdn() == c.fqdn);
        CHECK(name.lowered() == c.lowered);
    }
}

TEST_CASE("DnsName: parent and label count") {
    struct Case {
        std::string name, parent;
        std::size_t labels;
    };
    const std::vector<Case> cases{
        {"_acme-challenge.shop.example.com", "shop.example.com", 4},
        {"Shop.Example.com.", "Example.com", 3},
        {"com", "", 1},
        {"", "", 0},
        {"a\\.b.example", "example", 2},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(DnsName(c.name).parent().text() == c.parent);
        CHECK(DnsName(c.name).labelCount() == c.labels);
    }
}

TEST_CASE("DnsName: isPartOf and isBelow respect label boundaries and ignore case") {
    struct Case {
        std::string name, zone;
        bool partOf, below;
    };
    const std::vector<Case> cases{
        {"abc.acme-delegation.test", "acme-delegation.test", true, true},
        {"ABC.Acme-Delegation.TEST.", "acme-delegation.test", true, true},
        {"acme-delegation.test", "ACME-delegation.test", true, false},
        {"xacme-delegation.test", "acme-delegation.test", false, false},
        {"a.b.c.d", "c.d", true, true},
        {"c.d", "a.b.c.d", false, false},
        {"abc.example.com", "acme-delegation.test", false, false},
        {"anything.example", "", true, true},  // every name is part of the root
        {"", "", true, false},
        // One label "a\.acme-delegation", then "test": not in the zone.
        {"a\\.acme-delegation.test", "acme-delegation.test", false, false},
        {"x.a\\.acme-delegation.test", "a\\.acme-delegation.test", true, true},
        {"x.a\\.b", "b", false, false},  // "a\.b" is one label, not a and b
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CAPTURE(c.zone);
        CHECK(DnsName(c.name).isPartOf(DnsName(c.zone)) == c.partOf);
        CHECK(DnsName(c.name).isBelow(DnsName(c.zone)) == c.below);
    }
}
