// CAA (RFC 8659, RFC 8657): the RDATA, the issue value's grammar, the decision for a name and the
// search up the tree, without DNS (the e2e cases in tests/e2e/caa_test.cpp ask real servers).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "dns/caa_check.hpp"
#include "unit/caa_lookups.hpp"
#include "dns/caa_lookup.hpp"
#include "dns/caa_policy.hpp"
#include "dns/caa_record.hpp"

using namespace dnsh;

namespace {

const std::string kAccount = "https://ca.example/acme/acct/42";
const CaaIssuer kIssuer{{"ca.example", "ca-alias.example"}, kAccount};
// dns-01 as our only method (tests/unit/caa_validation_methods_test.cpp: with dns-persist-01).
const CaaMethods kDns01{"dns-01"};
const CaaMethodsFor kDns01ForEveryName = [](const std::string&) { return kDns01; };

CaaRecord record(const std::string& tag, const std::string& value, std::uint8_t flags = 0) {
    return CaaRecord{DnsName("example.com"), flags, tag, value};
}

bool allows(const std::vector<CaaRecord>& records, bool wildcard = false) {
    return evaluateCaa(records, wildcard, kIssuer, kDns01).allowed();
}

// RDATA bytes: flags, tag length, tag, value (RFC 8659 §4.1).
std::string rdata(std::uint8_t flags, const std::string& tag, const std::string& value) {
    std::string bytes;
    bytes += static_cast<char>(flags);
    bytes += static_cast<char>(tag.size());
    return bytes + tag + value;
}

}  // namespace

TEST_CASE("CAA RDATA: flags, tag and value per RFC 8659 §4.1, short or tagless RDATA rejected") {
    const auto parsed = parseCaaRdata(DnsName("example.com"), rdata(128, "issue", "ca.example"));
    REQUIRE(parsed);
    CHECK(parsed->flags == 128);
    CHECK(parsed->critical());
    CHECK(parsed->tag == "issue");
    CHECK(parsed->value == "ca.example");
    CHECK(parseCaaRdata(DnsName("a.test"), rdata(0, "issue", ""))->value.empty());
    CHECK_FALSE(parseCaaRdata(DnsName("a.test"), std::string("\0", 1)));
    CHECK_FALSE(parseCaaRdata(DnsName("a.test"), std::string("\0\0", 2)));         // no tag
    CHECK_FALSE(parseCaaRdata(DnsName("a.test"), std::string("\0\x09issue", 7)));  // too short
}

TEST_CASE("CAA presentation: quoted, escaped like TXT values, a quote escaped, cut when long") {
    CHECK(caaPresentation(record("issue", "ca.example"), 100) ==
          "example.com. CAA 0 issue \"ca.example\"");
    CHECK(caaPresentation(record("issue", "a\"b\x01\\"), 100) ==
          "example.com. CAA 0 issue \"a\\\"b\\001\\\\\"");
    CHECK(caaPresentation(record("issue", std::string(500, 'x')), 100).size() < 160);
}

TEST_CASE("CAA issue value: RFC 8659 §4.2's grammar, parameters in order") {
    const auto plain = parseCaaIssueValue("ca.example");
    REQUIRE(plain);
    CHECK(plain->issuerDomainName == "ca.example");
    CHECK(plain->parameters.empty());

    const auto withParameters = parseCaaIssueValue(
        "  ca.example ;  accounturi = https://ca.example/a/1 ; "
        "validationmethods=dns-01,http-01  ");
    REQUIRE(withParameters);
    CHECK(withParameters->issuerDomainName == "ca.example");
    REQUIRE(withParameters->parameters.size() == 2);
    CHECK(withParameters->parameters[0] ==
          std::pair<std::string, std::string>{"accounturi", "https://ca.example/a/1"});
    CHECK(withParameters->parameters[1] ==
          std::pair<std::string, std::string>{"validationmethods", "dns-01,http-01"});

    // No issuer: no CA may issue.
    CHECK(parseCaaIssueValue(";")->issuerDomainName.empty());
    CHECK(parseCaaIssueValue("")->issuerDomainName.empty());
    CHECK(parseCaaIssueValue("ca.example;")->parameters.empty());

    for (const std::string malformed :
         {"ca.example.", "-ca.example", "ca-.example", "ca..example", "ca.example x",
          "ca.example; key", "ca.example; key=a b", "ca.example; =v", "ca.example; k=v;",
          "ca_example", "ca.example; k=v k2=v2"}) {
        INFO(malformed);
        CHECK_FALSE(parseCaaIssueValue(malformed));
    }
}

TEST_CASE("CAA decision: issue names the CA or not, and no issue property restricts nothing") {
    CHECK(allows({}));
    CHECK(allows({record("iodef", "mailto:security@example.com")}));
    CHECK(allows({record("issue", "ca.example")}));
    CHECK(allows({record("issue", "CA.Example")}));        // issuer domain names ignore case
    CHECK(allows({record("ISSUE", "ca-alias.example")}));  // tags ignore case (RFC 8659 §4.1)
    CHECK(allows({record("issue", "other.example"), record("issue", "ca.example")}));
    const CaaDecision other =
        evaluateCaa({record("issue", "other-ca.example")}, false, kIssuer, kDns01);
    CHECK_FALSE(other.allowed());
    CHECK(other.reason.find("other-ca.example") != std::string::npos);
    CHECK_FALSE(allows({record("issue", ";")}));
    CHECK_FALSE(allows({record("issue", "ca.example; k=a b")}));  // malformed authorizes nothing
    // A non-critical unknown tag is ignored.
    CHECK(allows({record("issue", "ca.example"), record("future", "x")}));
}

TEST_CASE("CAA decision: issuewild governs wildcards when present, else issue (RFC 8659 §4.3)") {
    // Not a wildcard: issuewild is ignored.
    CHECK(allows({record("issuewild", "other.example")}));
    CHECK_FALSE(allows({record("issuewild", "ca.example"), record("issue", "other.example")}));
    // A wildcard: issuewild when there is one, whatever issue says.
    CHECK(allows({record("issuewild", "ca.example"), record("issue", "other.example")}, true));
    CHECK_FALSE(
        allows({record("issuewild", "other.example"), record("issue", "ca.example")}, true));
    CHECK_FALSE(allows({record("issuewild", ";")}, true));
    // A wildcard without issuewild: issue.
    CHECK(allows({record("issue", "ca.example")}, true));
    CHECK_FALSE(allows({record("issue", "other.example")}, true));
    CHECK(evaluateCaa({record("issuewild", "other.example")}, true, kIssuer, kDns01).issuewild);
}

TEST_CASE("CAA decision: a critical unknown tag forbids, a critical known one does not (§4.5)") {
    const CaaDecision critical =
        evaluateCaa({record("issue", "ca.example"), record("tbs", "x", 128)}, false, kIssuer,
                    kDns01);
    CHECK_FALSE(critical.allowed());
    CHECK(critical.unknownCritical);
    CHECK(critical.reason.find("critical") != std::string::npos);
    CHECK(allows({record("issue", "ca.example", 128)}));
    CHECK(allows({record("iodef", "mailto:a@example.com", 128), record("issue", "ca.example")}));
    CHECK(allows({record("issue", "ca.example"), record("tbs", "x", 1)}));  // other flag bits
}

TEST_CASE("CAA decision: accounturi must be our account, validationmethods must list dns-01") {
    CHECK(allows({record("issue", "ca.example; accounturi=" + kAccount)}));
    const CaaDecision otherAccount =
        evaluateCaa({record("issue", "ca.example; accounturi=https://ca.example/acme/acct/7")},
                    false, kIssuer, kDns01);
    CHECK_FALSE(otherAccount.allowed());
    CHECK(otherAccount.reason.find("accounturi") != std::string::npos);
    CHECK_FALSE(allows({record("issue", "ca.example; accounturi=" + kAccount + "/")}));
    CHECK_FALSE(allows({record("issue", "ca.example; AccountURI=https://ca.example/x")}));
    CHECK_FALSE(allows(
        {record("issue", "ca.example; accounturi=" + kAccount + "; accounturi=" + kAccount)}));

    CHECK(allows({record("issue", "ca.example; validationmethods=dns-01")}));
    CHECK(allows({record("issue", "ca.example; validationmethods=http-01,dns-01")}));
    const CaaDecision http = evaluateCaa({record("issue", "ca.example; validationmethods=http-01")},
                                         false, kIssuer, kDns01);
    CHECK_FALSE(http.allowed());
    CHECK(http.reason.find("validationmethods") != std::string::npos);
    CHECK_FALSE(allows({record("issue", "ca.example; validationmethods=dns-01-x")}));
    // Both bind: each must hold.
    CHECK(allows(
        {record("issue", "ca.example; accounturi=" + kAccount + "; validationmethods=dns-01")}));
    CHECK_FALSE(allows({record(
        "issue", "ca.example; accounturi=" + kAccount + "; validationmethods=tls-alpn-01")}));
    // Unknown parameters are ignored; another record may still allow it.
    CHECK(allows({record("issue", "ca.example; policy=ev")}));
    CHECK(allows({record("issue", "ca.example; validationmethods=http-01"),
                  record("issue", "ca.example; accounturi=" + kAccount)}));
}

namespace {

// Answers by name (lower case) and type: CAA RDATA, CNAMEs, NXDOMAIN or an rcode.
struct FakeDns {
    std::map<std::string, std::vector<DnsRecord>> answers;
    std::map<std::string, LookupOutcome> failures;
    std::vector<std::string> asked;
    DnsResponse operator()(const DnsName& name, RecordType) {
        asked.push_back(name.lowered());
        if (const auto failure = failures.find(name.lowered()); failure != failures.end())
            return {failure->second, {}, {}, "SERVFAIL from the fake"};
        const auto found = answers.find(name.lowered());
        if (found == answers.end()) return {LookupOutcome::NxDomain, {}, {}, "NXDOMAIN"};
        return {LookupOutcome::Found, found->second, {}, ""};
    }
};

DnsRecord caa(const std::string& owner, const std::string& tag, const std::string& value) {
    return {DnsName(owner), RecordType::Caa, rdata(0, tag, value)};
}

}  // namespace

TEST_CASE("CAA search: the name, then each parent, stopping at the first non-empty set (§3)") {
    SUBCASE("climbs past empty and nonexistent names, never asks the root") {
        FakeDns dns;
        dns.answers["shop.example.com"] = {};  // NOERROR, no CAA
        dns.answers["example.com"] = {caa("example.com", "issue", "ca.example")};
        const CaaLookup lookup = findRelevantCaaSet(DnsName("a.shop.example.com"), std::ref(dns));
        CHECK(dns.asked ==
              std::vector<std::string>{"a.shop.example.com", "shop.example.com", "example.com"});
        CHECK((lookup.outcome == LookupOutcome::Found));
        CHECK(lookup.foundAt == DnsName("example.com"));
        REQUIRE(lookup.records.size() == 1);
        CHECK(lookup.records.front().value == "ca.example");
    }
    SUBCASE("the first set found wins over its parents'") {
        FakeDns dns;
        dns.answers["shop.example.com"] = {caa("shop.example.com", "issue", "ca.example")};
        dns.answers["example.com"] = {caa("example.com", "issue", "other.example")};
        const CaaLookup lookup = findRelevantCaaSet(DnsName("shop.example.com"), std::ref(dns));
        CHECK(dns.asked == std::vector<std::string>{"shop.example.com"});
        CHECK(lookup.foundAt == DnsName("shop.example.com"));
    }
    SUBCASE("nothing up to the top: no records, every name but the root asked") {
        FakeDns dns;
        const CaaLookup lookup = findRelevantCaaSet(DnsName("shop.example.com"), std::ref(dns));
        CHECK((lookup.outcome == LookupOutcome::NoRecords));
        CHECK(dns.asked == std::vector<std::string>{"shop.example.com", "example.com", "com"});
    }
    SUBCASE("a wildcard is searched from its base name") {
        FakeDns dns;
        findRelevantCaaSet(DnsName("*.example.com"), std::ref(dns));
        CHECK(dns.asked == std::vector<std::string>{"example.com", "com"});
    }
    SUBCASE("a CNAME is followed: the set at its target is the name's") {
        FakeDns dns;
        dns.answers["shop.example.com"] = {
            {DnsName("shop.example.com"), RecordType::Cname, "cdn.provider.test"}};
        dns.answers["cdn.provider.test"] = {caa("cdn.provider.test", "issue", "other.example")};
        const CaaLookup lookup = findRelevantCaaSet(DnsName("shop.example.com"), std::ref(dns));
        CHECK((lookup.outcome == LookupOutcome::Found));
        CHECK(lookup.foundAt == DnsName("shop.example.com"));
        CHECK(lookup.owner == DnsName("cdn.provider.test"));
    }
    SUBCASE("a failed lookup ends the search without an answer") {
        FakeDns dns;
        dns.failures["example.com"] = LookupOutcome::ServFail;
        dns.answers["com"] = {caa("com", "issue", "ca.example")};
        const CaaLookup lookup = findRelevantCaaSet(DnsName("shop.example.com"), std::ref(dns));
        CHECK(lookup.failed());
        CHECK((lookup.outcome == LookupOutcome::ServFail));
        CHECK(dns.asked == std::vector<std::string>{"shop.example.com", "example.com"});
    }
}

TEST_CASE("CAA check: the suggested record, skipped without identities, failures not refusals") {
    using dnsh::test::found;
    const CaaCheck forbidden = checkCaaWith({"shop.example.com"}, kIssuer, kDns01ForEveryName,
                                            found({record("issue", "other-ca.example")}));
    CHECK((forbidden.result == CaaResult::Forbidden));
    CHECK((forbidden.failureCode() == FailureCode::CaaForbidden));
    CHECK(forbidden.suggestedRecords ==
          std::vector<std::string>{"shop.example.com. CAA 0 issue \"ca.example\""});
    CHECK(forbidden.description.find("shop.example.com. CAA 0 issue \"ca.example\"") !=
          std::string::npos);

    const CaaCheck wildcard = checkCaaWith({"*.example.com", "example.com"}, kIssuer,
                                           kDns01ForEveryName,
                                           found({record("issue", "other-ca.example")}));
    CHECK(wildcard.suggestedRecords ==
          std::vector<std::string>{"example.com. CAA 0 issuewild \"ca.example\"",
                                   "example.com. CAA 0 issue \"ca.example\""});

    const CaaCheck skipped =
        checkCaaWith({"shop.example.com"}, CaaIssuer{{}, kAccount}, kDns01ForEveryName,
                     found({record("issue", "other-ca.example")}));
    CHECK((skipped.result == CaaResult::Skipped));
    CHECK(skipped.passed());
    CHECK(skipped.names.empty());

    const CaaCheck failed =
        checkCaaWith({"shop.example.com"}, kIssuer, kDns01ForEveryName, [](const DnsName& at) {
            CaaLookup lookup;
            lookup.asked = {at};
            lookup.outcome = LookupOutcome::Timeout;
            lookup.detail = "no answer";
            return lookup;
        });
    CHECK((failed.result == CaaResult::LookupFailed));
    CHECK_FALSE(failed.passed());
    CHECK((failed.failureCode() == FailureCode::DnsTimeout));
}

TEST_CASE("CAA check JSON: the customer's records capped and escaped") {
    std::vector<CaaRecord> records;
    for (int i = 0; i < 50; ++i) records.push_back(record("issue", std::string(300, '\x01')));
    const CaaCheck check = checkCaaWith(
        {"shop.example.com"}, kIssuer, kDns01ForEveryName, [&records](const DnsName& at) {
            CaaLookup lookup;
            lookup.asked = {at};
            lookup.outcome = LookupOutcome::Found;
            lookup.foundAt = lookup.owner = at;
            lookup.records = records;
            return lookup;
        });
    const std::string json = caaCheckJson(check);
    CHECK(json.size() < 4096);
    const auto object = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
    CHECK(object->getValue<std::string>("result") == "caa_forbidden");
    const auto name = object->getArray("names")->getObject(0);
    CHECK(name->getArray("records")->size() == kMaxShownCaaRecords);
    CHECK(name->getValue<bool>("records_truncated"));
    CHECK(name->getValue<int>("records_total") == 50);
    for (const char c : json) CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("CAA check JSON: a long issuer name is not a domain name, and is never stored whole") {
    // RFC 8659 §4.2's issuer-domain-name is a domain name: labels of at most 63 characters, at
    // most 253 in all (RFC 1035). Longer is not the grammar: the record authorizes nothing.
    CHECK(parseCaaIssueValue(std::string(63, 'a') + ".example"));
    CHECK_FALSE(parseCaaIssueValue(std::string(64, 'a') + ".example"));
    std::string longest;
    for (int i = 0; i < 4; ++i) longest += std::string(62, 'a') + ".";
    longest += "example";  // 4 * 63 + 7 = 259
    CHECK_FALSE(parseCaaIssueValue(longest));
    CHECK(parseCaaIssueValue(longest.substr(6)));  // 253

    for (const bool wildcard : {false, true}) {
        INFO("wildcard: " << wildcard);
        const std::vector<std::string> names =
            wildcard ? std::vector<std::string>{"*.shop.example.com", "shop.example.com"}
                     : std::vector<std::string>{"shop.example.com"};
        const auto longIssuer = [](const DnsName& at) {
            CaaLookup lookup;
            lookup.asked = {at};
            lookup.outcome = LookupOutcome::Found;
            lookup.foundAt = lookup.owner = at;
            lookup.records = {record("issue", std::string(60000, 'a') + ".example")};
            for (auto& found : lookup.records) found.owner = at;
            return lookup;
        };
        const CaaCheck check = checkCaaWith(names, kIssuer, kDns01ForEveryName, longIssuer);
        CHECK((check.result == CaaResult::Forbidden));
        CHECK(check.description.size() < 4096);
        const std::string json = caaCheckJson(check);
        CHECK(json.size() < 4096);
        const auto object = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
        const auto name = object->getArray("names")->getObject(0);
        CHECK(name->getValue<std::string>("result") == "caa_forbidden");
        CHECK(name->getValue<std::string>("reason").find("RFC 8659 section 4.2") !=
              std::string::npos);
        CHECK(name->getValue<std::string>("reason").size() <= kMaxShownCaaReasonBytes);
        REQUIRE(name->getArray("records")->size() == 1);
        CHECK(name->getArray("records")->getElement<std::string>(0).size() < 300);
        CHECK(name->getValue<bool>("records_truncated"));
        CHECK(name->getValue<std::string>("suggested_record") ==
              "shop.example.com. CAA 0 " + std::string(wildcard ? "issuewild" : "issue") +
                  " \"ca.example\"");
    }

    // A long name that follows the grammar is shown cut, as the record is.
    const CaaDecision other =
        evaluateCaa({record("issue", longest.substr(6))}, false, kIssuer, kDns01);
    CHECK_FALSE(other.allowed());
    CHECK(other.reason.find("names another CA") != std::string::npos);
    CHECK(other.reason.size() < kMaxShownCaaReasonBytes);
}
