// The delegation target (DESIGN.md "Delegated validation"): <label>.<zone>, the label an HMAC of
// the name under the domain's secret token, so it is stable and nobody without the token knows it.
#include "domain/delegation.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

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
