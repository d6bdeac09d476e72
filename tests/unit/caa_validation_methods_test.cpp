// RFC 8657 §4's validationmethods against the methods we could use for a name: dns-01 always,
// dns-persist-01 where the customer's record is usable (issuance/caa_precheck.cpp decides that).
// The CAA check reports which of them CAA allows; placeOrder answers with those only.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "dns/caa_check.hpp"
#include "unit/caa_lookups.hpp"
#include "dns/caa_policy.hpp"

using namespace dnsh;
using dnsh::test::found;

namespace {

const std::string kAccount = "https://ca.example/acme/acct/42";
const CaaIssuer kIssuer{{"ca.example"}, kAccount};
const CaaMethods kDns01{"dns-01"};
const CaaMethods kPersistAndDns01{"dns-persist-01", "dns-01"};

CaaRecord issue(const std::string& value) {
    return CaaRecord{DnsName("example.com"), 0, "issue", value};
}

CaaDecision decide(const std::vector<CaaRecord>& records, const CaaMethods& ours) {
    return evaluateCaa(records, false, kIssuer, ours);
}

}  // namespace

TEST_CASE("CAA validationmethods=dns-persist-01: allowed only where dns-persist-01 is ours") {
    const CaaRecord persistOnly = issue("ca.example; validationmethods=dns-persist-01");
    // A usable record: the CA may issue, and with dns-persist-01 only (RFC 8657 §4).
    const CaaDecision usable = decide({persistOnly}, kPersistAndDns01);
    CHECK(usable.allowed());
    CHECK(usable.allowedMethods == CaaMethods{"dns-persist-01"});
    CHECK(usable.reason.find("only dns-persist-01") != std::string::npos);
    CHECK_FALSE(usable.recordWithOurMethod);

    // No usable record: dns-01 is all we have, which the record does not list. The reason names
    // both; the suggestion is the customer's record with dns-01 added, not a plain `issue`.
    const CaaDecision dns01Only = decide({persistOnly}, kDns01);
    CHECK_FALSE(dns01Only.allowed());
    CHECK(dns01Only.allowedMethods.empty());
    CHECK(dns01Only.reason.find("validationmethods (dns-persist-01)") != std::string::npos);
    CHECK(dns01Only.reason.find("(dns-01)") != std::string::npos);
    REQUIRE(dns01Only.recordWithOurMethod);
    CHECK(dns01Only.recordWithOurMethod->tag == "issue");
    CHECK(dns01Only.recordWithOurMethod->value ==
          "ca.example; validationmethods=dns-persist-01,dns-01");
}

TEST_CASE("CAA validationmethods=dns-01: dns-01 only, even where dns-persist-01 is usable") {
    const CaaRecord dns01Only = issue("ca.example; validationmethods=dns-01");
    const CaaDecision withPersist = decide({dns01Only}, kPersistAndDns01);
    CHECK(withPersist.allowed());
    CHECK(withPersist.allowedMethods == CaaMethods{"dns-01"});
    CHECK(withPersist.reason.find("only dns-01") != std::string::npos);
    CHECK(decide({dns01Only}, kDns01).allowedMethods == kDns01);
}

TEST_CASE("CAA validationmethods listing both, or none at all: every method of ours, our order") {
    CHECK(decide({issue("ca.example; validationmethods=dns-01,dns-persist-01")}, kPersistAndDns01)
              .allowedMethods == kPersistAndDns01);
    CHECK(decide({issue("ca.example")}, kPersistAndDns01).allowedMethods == kPersistAndDns01);
    CHECK(decide({}, kPersistAndDns01).allowedMethods == kPersistAndDns01);
    // RFC 8659 §4.2: one record allowing is enough, so each record adds what it allows.
    CHECK(decide({issue("ca.example; validationmethods=dns-01"),
                  issue("ca.example; validationmethods=dns-persist-01")},
                 kPersistAndDns01)
              .allowedMethods == kPersistAndDns01);
    // A record for another account allows nothing, whatever its methods.
    CHECK(decide({issue("ca.example; validationmethods=dns-01"),
                  issue("ca.example; accounturi=https://ca.example/acme/acct/7; "
                        "validationmethods=dns-persist-01")},
                 kPersistAndDns01)
              .allowedMethods == kDns01);
}

TEST_CASE("CAA validationmethods listing neither: forbidden, our preferred method suggested") {
    const CaaDecision http = decide({issue("ca.example; validationmethods=http-01")},
                                    kPersistAndDns01);
    CHECK_FALSE(http.allowed());
    CHECK(http.reason.find("(dns-persist-01, dns-01)") != std::string::npos);
    REQUIRE(http.recordWithOurMethod);
    CHECK(http.recordWithOurMethod->value ==
          "ca.example; validationmethods=http-01,dns-persist-01");
    // The customer's accounturi stays in the suggestion: it lifts no other restriction.
    const CaaDecision bound = decide(
        {issue("ca.example; accounturi=" + kAccount + "; validationmethods=dns-persist-01")},
        kDns01);
    REQUIRE(bound.recordWithOurMethod);
    CHECK(bound.recordWithOurMethod->value ==
          "ca.example; accounturi=" + kAccount + "; validationmethods=dns-persist-01,dns-01");
    // Another CA, another account: no record of theirs to extend (a plain record is suggested).
    CHECK_FALSE(decide({issue("other.example; validationmethods=dns-01")}, kDns01)
                    .recordWithOurMethod);
    CHECK_FALSE(decide({issue("ca.example; accounturi=https://ca.example/acme/acct/7; "
                              "validationmethods=http-01")},
                       kDns01)
                    .recordWithOurMethod);
}

TEST_CASE("CAA check: each name for its own methods, the suggestion keeping the restriction") {
    // A wildcard's record lacks policy=wildcard: dns-persist-01 is ours for the base name only.
    const CaaMethodsFor oursFor = [](const std::string& name) {
        return name.starts_with("*.") ? kDns01 : kPersistAndDns01;
    };
    const CaaCheck check =
        checkCaaWith({"*.example.com", "example.com"}, kIssuer, oursFor,
                     found({issue("ca.example; validationmethods=dns-persist-01")}));
    CHECK((check.result == CaaResult::Forbidden));
    REQUIRE(check.names.size() == 2);
    CHECK_FALSE(check.names[0].decision.allowed());
    CHECK(check.names[1].decision.allowed());
    CHECK(check.suggestedRecords ==
          std::vector<std::string>{
              "example.com. CAA 0 issue \"ca.example; validationmethods=dns-persist-01,dns-01\""});
    CHECK(check.description.find("add dns-01 to the validationmethods of its issue record") !=
          std::string::npos);
    CHECK_FALSE(check.allowsMethod("*.example.com", "dns-01"));
    CHECK(check.allowsMethod("example.com", "dns-persist-01"));
    CHECK_FALSE(check.allowsMethod("example.com", "dns-01"));
    CHECK_FALSE(check.allowsMethod("Example.COM", "dns-01"));  // names compared as DNS names

    const auto json =
        Poco::JSON::Parser().parse(caaCheckJson(check)).extract<Poco::JSON::Object::Ptr>();
    const auto base = json->getArray("names")->getObject(1);
    REQUIRE(base->getArray("validation_methods")->size() == 1);
    CHECK(base->getArray("validation_methods")->getElement<std::string>(0) == "dns-persist-01");
    CHECK(json->getArray("names")->getObject(0)->getArray("validation_methods")->size() == 0);

    // Not checked (the CA names no caaIdentities): CAA restricts no method.
    const CaaCheck skipped = checkCaaWith({"example.com"}, CaaIssuer{{}, kAccount}, oursFor,
                                          found({issue("other.example")}));
    CHECK(skipped.allowsMethod("example.com", "dns-persist-01"));
    CHECK(skipped.allowsMethod("example.com", "dns-01"));
}

TEST_CASE("CAA check: a suggestion too long to show whole is left out, the method still named") {
    const std::string longAccount = "https://ca.example/acme/acct/" + std::string(400, '7');
    const CaaCheck check = checkCaaWith(
        {"example.com"}, CaaIssuer{{"ca.example"}, longAccount},
        [](const std::string&) { return kDns01; },
        found({issue("ca.example; accounturi=" + longAccount +
                     "; validationmethods=dns-persist-01")}));
    CHECK((check.result == CaaResult::Forbidden));
    CHECK(check.suggestedRecords.empty());
    CHECK(check.names[0].suggestedRecord.empty());
    CHECK(check.description.find("add dns-01 to the validationmethods") != std::string::npos);
}
