// What an ACME error answer says beyond its type (RFC 8555 §6.7): subproblems with their
// identifiers (§6.7.1), where a person has to act for userActionRequired (§7.3.3: the problem's
// instance, else the Link rel="terms-of-service"), and the profile checks of
// draft-ietf-acme-profiles (a profile the directory does not list is refused before newOrder).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "acme/problem.hpp"
#include "acme/status.hpp"
#include "acme/transport.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/profiles.hpp"

using namespace dnsh;

TEST_CASE("problem documents: subproblems keep their identifiers") {
    const acme::ProblemDocument document = acme::parseProblemDocument(R"({
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "Some of the identifiers requested were rejected",
        "subproblems": [
            {"type": "urn:ietf:params:acme:error:malformed",
             "detail": "Invalid underscore in DNS name \"_example.org\"",
             "identifier": {"type": "dns", "value": "_example.org"}},
            {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
             "detail": "This CA will not issue for \"example.net\"",
             "identifier": {"type": "dns", "value": "example.net"}},
            {"type": "urn:ietf:params:acme:error:caa", "detail": "no identifier"}
        ]})");
    CHECK(document.type == "urn:ietf:params:acme:error:malformed");
    REQUIRE(document.subproblems.size() == 3);
    CHECK(document.subproblems[0].identifier == "dns:_example.org");
    CHECK(document.subproblems[1].identifier == "dns:example.net");
    CHECK(document.subproblems[1].type == "urn:ietf:params:acme:error:rejectedIdentifier");
    CHECK(document.subproblems[2].identifier.empty());
    // Not a problem document at all: nothing, and no exception.
    CHECK(acme::parseProblemDocument("<html>bad gateway</html>").type.empty());
    CHECK(acme::parseProblemDocument(R"({"type": 5, "subproblems": "x"})").subproblems.empty());
}

TEST_CASE("problem documents: userActionRequired names where to act") {
    acme::ProblemDocument document;
    document.type = acme::ProblemType::kUserActionRequired;
    document.detail = "Terms of service have changed";
    document.instance = "https://example.com/acme/agreement/?token=W8Ih3PswD-8";
    CHECK(acme::problemDetailText(document, "fallback", "https://example.com/tos") ==
          "Terms of service have changed; the CA needs a person to act at "
          "https://example.com/acme/agreement/?token=W8Ih3PswD-8");
    document.instance.clear();
    CHECK(acme::problemDetailText(document, "fallback", "https://example.com/tos") ==
          "Terms of service have changed; the CA needs a person to act at "
          "https://example.com/tos");
    // Other problems keep their detail as it is.
    document.type = acme::ProblemType::kMalformed;
    CHECK(acme::problemDetailText(document, "fallback", "https://example.com/tos") ==
          "Terms of service have changed");
    CHECK(acme::problemDetailText(acme::ProblemDocument{}, "HTTP 502 from x", "") ==
          "HTTP 502 from x");
}

TEST_CASE("Link headers: the target of a relation (RFC 8288)") {
    const std::string tos = "https://ca.test/terms";
    CHECK(acme::linkTarget({"<" + tos + ">;rel=\"terms-of-service\""}, "terms-of-service") == tos);
    CHECK(acme::linkTarget({"<https://ca.test/dir>;rel=\"index\"",
                            "<" + tos + ">; rel=terms-of-service"},
                           "terms-of-service") == tos);
    CHECK(acme::linkTarget({"<https://ca.test/dir>;rel=\"index\", <" + tos +
                            ">;rel=\"terms-of-service\""},
                           "terms-of-service") == tos);
    CHECK(acme::linkTarget({"<https://ca.test/up>;rel=\"up\""}, "terms-of-service").empty());
    CHECK(acme::linkTarget({}, "terms-of-service").empty());
}

TEST_CASE("statuses: processing is known for orders, authorizations and challenges") {
    // Compared outside CHECK: doctest would stringify through acme::toString.
    const bool order = acme::parseOrderStatus("processing") == acme::OrderStatus::Processing;
    const bool authorization =
        acme::parseAuthorizationStatus("processing") == acme::AuthorizationStatus::Processing;
    const bool challenge =
        acme::parseChallengeStatus("processing") == acme::ChallengeStatus::Processing;
    const bool unknown =
        acme::parseAuthorizationStatus("bogus") == acme::AuthorizationStatus::Unknown;
    CHECK(order);
    CHECK(authorization);
    CHECK(challenge);
    CHECK(unknown);
    CHECK(acme::toString(acme::AuthorizationStatus::Processing) == "processing");
}

TEST_CASE("profiles: the domain's choice, else ACME_PROFILE, checked against the directory") {
    Config config;
    config.acmeProfile = "tlsserver";
    CHECK(orderProfile(std::string("shortlived"), config).name == "shortlived");
    CHECK_FALSE(orderProfile(std::string("shortlived"), config).fromSetting);
    CHECK(orderProfile(std::nullopt, config).name == "tlsserver");
    CHECK(orderProfile(std::nullopt, config).fromSetting);
    config.acmeProfile.clear();
    CHECK(orderProfile(std::nullopt, config).name.empty());

    acme::Directory directory;
    directory.profiles = {{"classic", "90 days"}, {"shortlived", "6 days"}};
    CHECK_NOTHROW(requireOffered(directory, OrderProfile{"shortlived", false}));
    CHECK_NOTHROW(requireOffered(directory, OrderProfile{"", false}));
    try {
        requireOffered(directory, OrderProfile{"tlsserver", true});
        FAIL("an unlisted profile was accepted");
    } catch (const acme::AcmeError& e) {
        CHECK(e.is(acme::ProblemType::kInvalidProfile));
        CHECK(toString(failureCodeOf(e)) == "invalid_profile");
        CHECK_FALSE(e.retryable());
        CHECK(e.problem().detail ==
              "ACME_PROFILE=\"tlsserver\" is not a profile the CA offers (it offers: classic, "
              "shortlived)");
    }
    // A CA without profiles would ignore the member: every profile is refused.
    try {
        requireOffered(acme::Directory{}, OrderProfile{"classic", false});
        FAIL("a profile was accepted by a CA without profiles");
    } catch (const acme::AcmeError& e) {
        CHECK(e.problem().detail ==
              "the domain's profile \"classic\" is not a profile the CA offers (it offers: none)");
    }
}

TEST_CASE("profiles: the CA's invalidProfile problem is error_code invalid_profile") {
    const acme::AcmeError error(
        acme::Problem{acme::ProblemType::kInvalidProfile, "unrecognized profile \"x\"", 400});
    CHECK(std::string(toString(failureCodeOf(error))) == "invalid_profile");
}
