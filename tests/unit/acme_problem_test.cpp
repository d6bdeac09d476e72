// What an ACME error answer says beyond its type (RFC 8555 §6.7): subproblems with their
// identifiers (§6.7.1), where a person has to act for userActionRequired (§7.3.3: the problem's
// instance, else the Link rel="terms-of-service"), and the profile checks of
// draft-ietf-acme-profiles (a profile the directory does not list is refused before newOrder);
// and that whatever text a CA sends is kept printable and bounded, and its subproblems' log lines
// counted past a few; and which refusals pass an order over to the next CA (README "Several
// CAs"): one of our account, not one of the names.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "acme/problem.hpp"
#include "acme/status.hpp"
#include "acme/transport.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/ca_fallback.hpp"
#include "issuance/profiles.hpp"
#include "log/log.hpp"
#include "support/captured_stderr.hpp"

using namespace dnsh;

namespace {

// Nothing a terminal or a log reader would act on: printable ASCII only.
bool printable(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

// `bytes` of a terminal's clear-screen and line breaks, as a CA might put in a detail.
std::string screenClears(std::size_t bytes) {
    std::string noise;
    while (noise.size() < bytes) noise += "\x1b[2J\r\n";
    noise.resize(bytes);
    return noise;
}

// A problem document of a CA that sends anything: a 900 KiB detail of control bytes, a type and
// an instance of them, and 1000 subproblems with noisy details and identifiers.
std::string hostileProblemBody() {
    Poco::JSON::Object document;
    document.set("type", "urn:ietf:params:acme:error:rejectedIdentifier" + screenClears(4096));
    document.set("detail", screenClears(900 * 1024));
    document.set("instance", "https://ca.test/act?" + screenClears(4096));
    Poco::JSON::Array subproblems;
    for (int i = 0; i < 1000; ++i) {
        Poco::JSON::Object subproblem;
        subproblem.set("type", "urn:ietf:params:acme:error:rejectedIdentifier");
        // Built by appending: GCC 12's -Wrestrict misfires on a literal + a temporary string.
        std::string detail = "refused ";
        detail += std::to_string(i);
        detail += screenClears(256);
        subproblem.set("detail", detail);
        Poco::JSON::Object identifier;
        identifier.set("type", "dns");
        std::string value = "n";
        value += std::to_string(i);
        value += ".example";
        value += screenClears(256);
        identifier.set("value", value);
        subproblem.set("identifier", identifier);
        subproblems.add(subproblem);
    }
    document.set("subproblems", subproblems);
    std::ostringstream body;
    document.stringify(body);
    return body.str();
}

}  // namespace

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

TEST_CASE("problem documents: the CA's text is kept printable and bounded, subproblems counted") {
    const acme::ProblemDocument document = acme::parseProblemDocument(hostileProblemBody());
    CAPTURE(document.detail.substr(0, 200));
    CHECK(document.detail.size() <= acme::kMaxProblemDetailBytes);
    CHECK(printable(document.detail));
    // Cut, and said to be: escaped as RFC 1035 \DDD, ending "...".
    CHECK(document.detail.rfind("\\027[2J\\013\\010", 0) == 0);
    CHECK(document.detail.size() > 3);
    CHECK(document.detail.substr(document.detail.size() - 3) == "...");
    CHECK(document.type.size() <= acme::kMaxProblemTypeBytes);
    CHECK(printable(document.type));
    CHECK(document.instance.size() <= acme::kMaxProblemInstanceBytes);
    CHECK(printable(document.instance));
    // The first few kept, the rest counted.
    REQUIRE(document.subproblems.size() == acme::kMaxKeptSubproblems);
    CHECK(document.subproblemsLeftOut == 1000 - acme::kMaxKeptSubproblems);
    for (const auto& subproblem : document.subproblems) {
        CHECK(subproblem.detail.size() <= acme::kMaxProblemDetailBytes);
        CHECK(printable(subproblem.detail));
        CHECK(subproblem.identifier.size() <= acme::kMaxIdentifierBytes);
        CHECK(printable(subproblem.identifier));
    }
    CHECK(document.subproblems[1].identifier.rfind("dns:n1.example\\027[2J", 0) == 0);

    // What the API's 502 and the stored error are made of: bounded too, the terms link (a
    // header, not the document) included.
    acme::ProblemDocument userAction = document;
    userAction.type = acme::ProblemType::kUserActionRequired;
    userAction.instance.clear();
    const std::string shown =
        acme::problemDetailText(userAction, "fallback", "https://ca.test/tos?" +
                                                            screenClears(8192));
    CHECK(shown.size() <= acme::kMaxProblemDetailBytes + 64 + acme::kMaxProblemInstanceBytes);
    CHECK(printable(shown));

    // A thousand subproblems are not a thousand log lines.
    setLogLevel(LogLevel::Info);
    const std::string log = test::capturedStderr([&] { acme::logSubproblems(document, "url"); });
    CHECK(log.size() < 16 * 1024);
    std::size_t lines = 0;
    for (std::size_t at = log.find("\"acme subproblem\""); at != std::string::npos;
         at = log.find("\"acme subproblem\"", at + 1))
        ++lines;
    CHECK(lines == acme::kMaxKeptSubproblems);
    CHECK(log.find("\"acme subproblems not logged\"") != std::string::npos);
    CHECK(log.find("\"count\":990") != std::string::npos);
}

TEST_CASE("problem documents: an answer without a detail says the status and URL, bounded") {
    // The URL is the CA's (an order's finalize or authorization URL): as unbounded as its detail.
    const acme::ProblemDocument none = acme::parseProblemDocument(std::string("not json"));
    std::string fallback = "HTTP 500 from https://ca.test/finalize/";  // appended: GCC 12 -Wrestrict
    fallback += screenClears(8192);
    const std::string text = acme::problemDetailText(none, fallback, "");
    CHECK(text.size() <= acme::kMaxProblemDetailBytes);
    CHECK(printable(text));
    CHECK(text.rfind("HTTP 500 from https://ca.test/finalize/", 0) == 0);
}

TEST_CASE("problem documents: short printable text is kept as it is") {
    // As Pebble words a failed dns-01 validation: quotes are printable, nothing is escaped.
    const std::string detail = "Incorrect TXT record \"abc\" found at _acme-challenge.a.example";
    Poco::JSON::Object problem;
    problem.set("type", "urn:ietf:params:acme:error:unauthorized");
    problem.set("detail", detail);
    problem.set("instance", "https://ca.test/a?token=W8Ih3PswD-8");
    const acme::ProblemDocument document = acme::parseProblemDocument(problem);
    CHECK(document.type == "urn:ietf:params:acme:error:unauthorized");
    CHECK(document.detail == detail);
    CHECK(document.instance == "https://ca.test/a?token=W8Ih3PswD-8");
    CHECK(document.subproblemsLeftOut == 0);
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

namespace {

// passOverReason's reason as logged, "" when the error stops the search.
std::string passOverReasonOf(const acme::AcmeError& error) {
    const std::optional<PassOverReason> reason = passOverReason(error);
    return reason ? std::string(toString(*reason)) : std::string();
}

acme::AcmeError refusal(const char* type, int status, std::size_t subproblems = 0) {
    return acme::AcmeError(acme::Problem{type, "refused", status, subproblems});
}

}  // namespace

TEST_CASE("several CAs: a refusal of our account on newOrder passes over, one of the names stops "
          "the search") {
    // RFC 8555 §7.3.3: terms to agree to, wherever in the order it comes.
    const acme::AcmeError terms = refusal(acme::ProblemType::kUserActionRequired, 403);
    CHECK(passOverReasonOf(terms) == "user_action_required");
    const OrderAbandonedError termsAfterNewOrder(terms, "https://ca.example/order/1", {});
    CHECK(passOverReasonOf(termsAfterNewOrder) == "user_action_required");
    // RFC 8555 §7.3.6: a deactivated account; accountDoesNotExist once registering again did
    // not help.
    const acme::AcmeError deactivated = refusal(acme::ProblemType::kUnauthorized, 401);
    CHECK(passOverReasonOf(deactivated) == "account_refused");
    CHECK(passOverReason(deactivated).has_value());
    CHECK(passOverReasonOf(refusal(acme::ProblemType::kAccountDoesNotExist, 400)) ==
          "account_refused");
    // Subproblems (§6.7.1) tie it to the names: the customer's error, not ours.
    const acme::AcmeError names = refusal(acme::ProblemType::kUnauthorized, 403, 2);
    CHECK_FALSE(passOverReason(names).has_value());
    CHECK(passOverReasonOf(names).empty());
    // After newOrder took the order, the account was accepted.
    const OrderAbandonedError afterNewOrder(deactivated, "https://ca.example/order/1", {});
    CHECK_FALSE(passOverReason(afterNewOrder).has_value());
    // Refusals of the names stop the search, as before.
    CHECK_FALSE(
        passOverReason(refusal("urn:ietf:params:acme:error:rejectedIdentifier", 400)).has_value());
    CHECK_FALSE(passOverReason(refusal(acme::ProblemType::kMalformed, 400)).has_value());
    // The reasons that passed over before keep doing so, named.
    CHECK(passOverReasonOf(acme::AcmeError(acme::Problem{"", "refused", 0})) == "unreachable");
    CHECK(passOverReasonOf(refusal(acme::ProblemType::kRateLimited, 429)) == "rate_limited");
    CHECK(passOverReasonOf(refusal(acme::ProblemType::kServerInternal, 500)) == "server_error");
    CHECK(passOverReasonOf(refusal(acme::ProblemType::kInvalidProfile, 400)) ==
          "invalid_profile");
}
