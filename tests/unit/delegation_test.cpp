// The delegation target (README "Zero-touch: one CNAME, then nothing"): <label>.<zone>, the label
// an HMAC of the name under the domain's secret token, so it is stable and nobody without the token
// knows it.
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

TEST_CASE("delegationTarget: the HMAC-SHA256 label customers' CNAMEs already point to") {
    // Known answer from `openssl dgst -sha256 -hmac <token>` over the message: a change of the
    // HMAC's implementation must not move any published target.
    CHECK(delegationTarget(std::string(64, 'a'), "shop.example.com", "acme-delegation.test") ==
          "2146ed571a8c1123de37b739af044ee7.acme-delegation.test");
}

TEST_CASE("delegationTarget of a domain: its stored label, else the label computed") {
    Domain domain;
    domain.domainName = "shop.example.com";
    domain.verificationToken = std::string(64, 'a');
    CHECK(delegationLabel(domain.verificationToken, domain.domainName) ==
          "2146ed571a8c1123de37b739af044ee7");
    CHECK(delegationTarget(domain, "acme-delegation.test") ==
          "2146ed571a8c1123de37b739af044ee7.acme-delegation.test");
    domain.delegationLabel = "0123456789abcdef0123456789abcdef";
    CHECK(delegationTarget(domain, "acme-delegation.test") ==
          "0123456789abcdef0123456789abcdef.acme-delegation.test");
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
        {"a CNAME target in another case", "ABC.Acme-Delegation.TEST", "acme-delegation.test",
         true},
        {"a target with its trailing dot", "abc.acme-delegation.test.", "acme-delegation.test",
         true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(isInZone(c.name, c.zone) == c.inside);
    }
}

TEST_CASE("pointsAtTarget: only a CNAME found at the target, any case, with or without the dot") {
    const std::string target = "2146ed571a8c1123de37b739af044ee7.acme-delegation.test";
    auto found = [](const std::string& at) {
        return CnameLookup{LookupOutcome::Found, DnsName(at), ""};
    };
    CHECK(pointsAtTarget(found(target), target));
    CHECK(pointsAtTarget(found("2146ED571A8C1123DE37B739AF044EE7.Acme-Delegation.TEST."), target));
    CHECK_FALSE(pointsAtTarget(found("0123456789abcdef0123456789abcdef.acme-delegation.test"),
                               target));
    CHECK_FALSE(pointsAtTarget(found("acme.example.net"), target));
    // No CNAME there, or a lookup that failed: not in place (the caller goes on undelegated).
    for (const LookupOutcome outcome : {LookupOutcome::NoRecords, LookupOutcome::NxDomain,
                                        LookupOutcome::ServFail, LookupOutcome::Timeout,
                                        LookupOutcome::Unreachable, LookupOutcome::Failed}) {
        CAPTURE(static_cast<int>(outcome));
        CHECK_FALSE(pointsAtTarget(CnameLookup{outcome, {}, "x"}, target));
    }
}
