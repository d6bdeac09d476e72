// The delegation target (DESIGN.md "Delegated validation"): <label>.<zone>, the label an HMAC of
// the name under the domain's secret token, so it is stable and nobody without the token knows it.
#include "domain/delegation.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

using namespace dnsh;

TEST_CASE("delegationTarget: 32 hex digits under the zone, stable, secret-dependent") {
    const std::string token(64, 'a'), other(64, 'b');
    const std::string target = delegationTarget(token, "shop.example.com", "acme-delegation.test");
    CHECK(std::regex_match(target, std::regex(R"(^[0-9a-f]{32}\.acme-delegation\.test$)")));
    CHECK(delegationTarget(token, "shop.example.com", "acme-delegation.test") == target);
    CHECK(delegationTarget(other, "shop.example.com", "acme-delegation.test") != target);
    CHECK(delegationTarget(token, "www.example.com", "acme-delegation.test") != target);
    // A wildcard shares its base name's challenge name, and so its target.
    CHECK(delegationTarget(token, "*.shop.example.com", "acme-delegation.test") == target);
}

TEST_CASE("isInZone: strictly below the zone, label boundaries respected") {
    struct Case {
        std::string description, name, zone;
        bool inside;
    };
    const std::vector<Case> cases{
        {"a label under the zone", "abc.acme-delegation.test", "acme-delegation.test", true},
        {"the zone itself", "acme-delegation.test", "acme-delegation.test", false},
        {"a name merely ending in the same letters", "xacme-delegation.test",
         "acme-delegation.test", false},
        {"another zone", "abc.example.com", "acme-delegation.test", false},
        {"no zone configured", "abc.acme-delegation.test", "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(isInZone(c.name, c.zone) == c.inside);
    }
}
