// The dns-persist-01 records POST /domains and the domain view give (README "dns-persist-01: one
// record, set once"): one per configured CA that offers the method, most preferred first, each
// naming that CA's issuer and our account there (draft-ietf-acme-dns-persist-00 §4).
#include "domain/persist_offers.hpp"

#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <string>

#include "domain/domain_json.hpp"

using namespace dnsh;

namespace {

CaSettings ca(const std::string& name, const std::string& directory) {
    CaSettings settings;
    settings.name = name;
    settings.directoryUrl = directory;
    return settings;
}

const std::string kFirst = "https://ca-one.test/dir";
const std::string kSecond = "https://ca-two.test/dir";

}  // namespace

TEST_CASE("persistOffersOf: the configured CAs in order of preference, each with its own account") {
    const std::vector<PersistAccountRow> rows{
        {kSecond, "https://ca-two.test/acct/7", "two.test", true},
        {"https://retired.test/dir", "https://retired.test/acct/1", "retired.test", true},
        {kFirst, "https://ca-one.test/acct/3", "one.test", std::nullopt},
    };
    const auto offers = persistOffersOf({ca("one", kFirst), ca("two", kSecond)}, rows);
    REQUIRE(offers.size() == 2);
    CHECK(offers[0].ca == kFirst);
    CHECK(offers[0].issuerDomain == "one.test");
    CHECK(offers[0].accountUrl == "https://ca-one.test/acct/3");
    CHECK(offers[1].ca == kSecond);
    CHECK(offers[1].accountUrl == "https://ca-two.test/acct/7");
}

TEST_CASE("persistOffersOf: no record for a CA that stopped offering it or is not ready") {
    const std::vector<PersistAccountRow> rows{
        {kFirst, "https://ca-one.test/acct/3", "one.test", false},  // its last authz: no offer
        {kSecond, "", "two.test", std::nullopt},                    // not registered yet
    };
    CHECK(persistOffersOf({ca("one", kFirst), ca("two", kSecond)}, rows).empty());
    const std::vector<PersistAccountRow> noIssuer{{kFirst, "https://ca-one.test/acct/3", "", {}}};
    CHECK(persistOffersOf({ca("one", kFirst)}, noIssuer).empty());
}

TEST_CASE("domainJson: persist lists one TXT value per CA at the one name, wildcards allowed") {
    Domain domain;
    domain.id = std::string(32, 'a');
    domain.domainName = "*.shop.example.com";
    domain.verificationToken = std::string(64, 'b');
    domain.status = DomainStatus::Pending;
    domain.createdAt = domain.updatedAt = "2026-11-27T00:00:00Z";
    const ViewSettings settings{"",
                                {{kFirst, "one.test", "https://ca-one.test/acct/3"},
                                 {kSecond, "two.test", "https://ca-two.test/acct/7"}}};
    for (const std::string& text :
         {domainJson(domain, settings), registrationJson(domain, settings)}) {
        INFO(text);
        const auto view = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
        const auto persist = view->getArray("persist");
        REQUIRE(persist);
        REQUIRE(persist->size() == 2);
        const auto first = persist->getObject(0);
        CHECK(first->getValue<std::string>("record_name") ==
              "_validation-persist.shop.example.com");
        CHECK(first->getValue<std::string>("record_type") == "TXT");
        CHECK(first->getValue<std::string>("record_value") ==
              "one.test; accounturi=https://ca-one.test/acct/3; policy=wildcard");
        CHECK(first->getValue<std::string>("ca") == kFirst);
        CHECK(persist->getObject(1)->getValue<std::string>("record_value") ==
              "two.test; accounturi=https://ca-two.test/acct/7; policy=wildcard");
    }
    // No CA offers it: no member at all (the webhooks' views, a CA not ready yet).
    CHECK(domainJson(domain, ViewSettings{}).find("persist") == std::string::npos);
}
