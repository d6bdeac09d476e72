// dns-persist-01 in the issuance engine (issue 21; draft-ietf-acme-dns-persist-00; README
// "dns-persist-01: one record, set once") against the test stack's Pebble (v2.10.3,
// PEBBLE_AUTHZREUSE=0: every order has fresh authorizations, each offering dns-persist-01 with
// issuer-domain-names = its caaIdentities) and pebble-challtestsrv as the customer's DNS. A record
// at _validation-persist naming the CA and our account lets issuance and a renewal complete with
// nothing published or even asked at _acme-challenge; a record naming another account falls back
// to dns-01, the reason shown as checks.persist. CAA's validationmethods (RFC 8657 §4) decides
// between the two where the record is usable.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The test Pebble's issuer domain name: its meta.caaIdentities, copied into every
// dns-persist-01 challenge's issuer-domain-names (draft §3.1).
const std::string kIssuer = "pebble.letsencrypt.org";

// Our account URL at ACME_DIRECTORY's CA, once the running scheduler registered it and kept the
// CA's issuer (it does so at start, for the records POST /domains gives).
std::string ourAccountUrl() {
    const std::string query =
        "SELECT coalesce(max(account_url), '') FROM acme_accounts "
        "WHERE persist_issuer IS NOT NULL AND directory_url = " +
        quoted(requireEnv("ACME_DIRECTORY"));
    REQUIRE_MESSAGE(waitFor(15s, [&] { return !scalar(query).empty(); }),
                    "the scheduler kept no issuer for the CA");
    return scalar(query);
}

// The `persist` entry of a view or registration for ACME_DIRECTORY's CA ("" when none).
std::string offeredRecord(const HttpResult& result, const std::string& recordName) {
    const auto persist = result.json()->getArray("persist");
    if (!persist) return "";
    for (std::size_t i = 0; i < persist->size(); ++i) {
        const auto record = persist->getObject(static_cast<unsigned>(i));
        if (record->getValue<std::string>("ca") != requireEnv("ACME_DIRECTORY")) continue;
        CHECK(record->getValue<std::string>("record_name") == recordName);
        CHECK(record->getValue<std::string>("record_type") == "TXT");
        return record->getValue<std::string>("record_value");
    }
    return "";
}

// draft §4: "<issuer>; accounturi=<uri>", the record a customer publishes once.
std::string persistRecord(const std::string& accountUrl) {
    return kIssuer + "; accounturi=" + accountUrl;
}

std::string persistName(const TestDomain& domain) {
    return "_validation-persist." + domain.name;
}

HttpResult view(const TestDomain& domain) {
    const HttpResult result = get("/domains/" + domain.id);
    REQUIRE_MESSAGE(result.status == 200, result.body);
    return result;
}

// The view's checks.persist.outcome ("" when there is none).
std::string persistOutcome(const TestDomain& domain) {
    const HttpResult result = view(domain);
    const auto checks = result.json()->getObject("checks");
    if (!checks) return "";
    const auto persist = checks->getObject("persist");
    return persist ? persist->optValue<std::string>("outcome", "") : "";
}

long long certificates(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

long long challengesAnswered(const TestDomain& domain, const std::string& method) {
    return count(
        "SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.domain_id = " +
        quoted(domain.id) + " AND c.method = " + quoted(method));
}

// The methods the view's checks.caa says CAA allows for the domain's name, comma-separated.
std::string caaAllowedMethods(const TestDomain& domain) {
    const HttpResult result = view(domain);
    INFO("view: " << result.body);
    const auto names = result.json()->getObject("checks")->getObject("caa")->getArray("names");
    REQUIRE(names->size() == 1);
    const auto methods = names->getObject(0)->getArray("validation_methods");
    REQUIRE(methods);
    std::string text;
    for (std::size_t i = 0; i < methods->size(); ++i) {
        if (i > 0) text += ',';  // appended: GCC 12's -Wrestrict misfires on "," + string
        text += methods->getElement<std::string>(i);
    }
    return text;
}

}  // namespace

TEST_CASE(
    "dns-persist-01: a usable record issues and renews with nothing published or asked at "
    "_acme-challenge") {
    Leftovers leftovers;
    SandboxRecords records;
    TestDomain domain;
    {
        const auto scheduler = startScheduler();
        const std::string expected = persistRecord(ourAccountUrl());
        // What the customer is told to publish once, in the registration and in the view (each
        // handler process reads the CA's record within seconds of the scheduler keeping it).
        HttpResult registered;
        const auto registerUntilOffered = [&] {
            const std::string name = uniqueDomainName("persist-ok");
            registered = postJson("/domains", "{\"domain_name\": \"" + name + "\"}");
            REQUIRE_MESSAGE(registered.status == 201, registered.body);
            domain = TestDomain{registered.jsonString("id"), name,
                                registered.jsonString("verification_token")};
            leftovers.add(domain);
            return offeredRecord(registered, persistName(domain)) == expected;
        };
        REQUIRE_MESSAGE(waitFor(15s, registerUntilOffered),
                        "no persist record " << expected << " in " << registered.body);
        INFO("registration: " << registered.body);
        CHECK(registered.jsonString("instructions").find(persistName(domain)) != std::string::npos);
        setTxt(domain.challengeName(), domain.token);
        const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
        REQUIRE_MESSAGE(verified.status == 200, verified.body);
        std::string shown;
        REQUIRE(waitFor(15s, [&] {
            shown = offeredRecord(view(domain), persistName(domain));
            return shown == expected;
        }));
        records.txt(persistName(domain), shown);
        // The verification token is gone: nothing at all at _acme-challenge from now on.
        clearTxt(domain.challengeName());
        clearDnsQuestions(domain.challengeName());

        const HttpResult started = issueCertificate(domain);
        INFO("issue-certificate: " << started.body);
        REQUIRE(started.status == 202);
        CHECK(started.jsonString("validation_method") == "dns-persist-01");
        CHECK(started.json()->getArray("challenges")->size() == 0);
        CHECK_FALSE(started.json()->has("expected_txt_value"));
        CHECK(started.jsonString("instructions").find("_validation-persist." + domain.name) !=
              std::string::npos);
        // The view lists nothing to publish while the CA validates.
        const HttpResult pending = view(domain);
        if (pending.jsonString("status") == "certificate_pending")
            CHECK_MESSAGE(pending.json()->getArray("challenges")->size() == 0, pending.body);
        requireAllActive({domain}, 30s);
        CHECK(scheduler->terminate() == 0);
    }
    const HttpResult issued = view(domain);
    INFO("view: " << issued.body);
    CHECK(issued.jsonString("validation_method") == "dns-persist-01");
    CHECK(persistOutcome(domain) == "usable");
    // No TXT check was made for the order: checks is still verify's lookup of the token.
    CHECK(issued.json()->getObject("checks")->optValue<std::string>("name", "") ==
          domain.challengeName());
    CHECK(challengesAnswered(domain, "dns-persist-01") == 1);
    CHECK(challengesAnswered(domain, "dns-01") == 0);

    // A renewal: fresh authorizations (no reuse), answered with the same record, unchanged.
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " + quoted(domain.id));
    {
        const auto scheduler = startScheduler();
        REQUIRE_MESSAGE(waitFor(30s, [&] { return certificates(domain) == 2; }),
                        (describe(*scheduler) + "\n" + view(domain).body));
        CHECK(scheduler->terminate() == 0);
    }
    const HttpResult renewed = view(domain);
    INFO("view after the renewal: " << renewed.body);
    CHECK(renewed.jsonString("status") == "active");
    CHECK(renewed.jsonString("validation_method") == "dns-persist-01");
    // Pebble reuses a valid authorization 1% of the time even with PEBBLE_AUTHZREUSE=0
    // (wfe.go: rand.Intn(100) > percent): then the renewal had no challenge to answer at all.
    const long long renewalChallenges = count(
        "SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.kind = 'renewal' AND o.domain_id = " +
        quoted(domain.id));
    if (renewalChallenges == 0) MESSAGE("the CA reused the authorization: nothing to answer");
    CHECK(challengesAnswered(domain, "dns-persist-01") == 1 + renewalChallenges);
    CHECK(challengesAnswered(domain, "dns-01") == 0);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id) +
                " AND kind = 'renewal' AND status = 'valid'") == 1);
    // Neither we nor the CA ever looked at _acme-challenge.
    CHECK(dnsQuestionTypes(domain.challengeName()).empty());
}

TEST_CASE(
    "dns-persist-01: a record naming another account falls back to dns-01 with the values to "
    "publish, checks.persist saying why") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("persist-other", leftovers);
    records.txt(persistName(domain), persistRecord("https://127.0.0.1:1/my-account/0"));

    const auto scheduler = startScheduler();
    const HttpResult started = issueCertificate(domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-01");
    const std::string value = started.jsonString("expected_txt_value");
    REQUIRE(std::regex_match(value, kTxtValue));

    const HttpResult pending = view(domain);
    INFO("view: " << pending.body);
    CHECK(pending.jsonString("validation_method") == "dns-01");
    CHECK(pending.json()->getArray("challenges")->size() == 1);
    CHECK(persistOutcome(domain) == "wrong_account");

    publish(domain, value);
    requireAllActive({domain}, 30s);
    CHECK(scheduler->terminate() == 0);
    CHECK(view(domain).jsonString("validation_method") == "dns-01");
    CHECK(challengesAnswered(domain, "dns-01") == 1);
    CHECK(challengesAnswered(domain, "dns-persist-01") == 0);
}

TEST_CASE(
    "dns-persist-01: CAA validationmethods=dns-persist-01 with a usable record issues with "
    "dns-persist-01 (RFC 8657 section 4)") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("persist-caa", leftovers);
    const auto scheduler = startScheduler();
    records.txt(persistName(domain), persistRecord(ourAccountUrl()));
    records.caa(domain.name, "issue", kIssuer + "; validationmethods=dns-persist-01");

    const HttpResult started = issueCertificate(domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-persist-01");
    CHECK(started.json()->getArray("challenges")->size() == 0);
    CHECK(caaAllowedMethods(domain) == "dns-persist-01");
    requireAllActive({domain}, 30s);
    CHECK(scheduler->terminate() == 0);
    CHECK(view(domain).jsonString("validation_method") == "dns-persist-01");
    CHECK(challengesAnswered(domain, "dns-persist-01") == 1);
    CHECK(challengesAnswered(domain, "dns-01") == 0);
}

TEST_CASE(
    "dns-persist-01: CAA validationmethods=dns-01 keeps the order on dns-01 though the record "
    "is usable (RFC 8657 section 4)") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("persist-caa-dns01", leftovers);
    const auto scheduler = startScheduler();
    records.txt(persistName(domain), persistRecord(ourAccountUrl()));
    records.caa(domain.name, "issue", kIssuer + "; validationmethods=dns-01");

    const HttpResult started = issueCertificate(domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-01");
    CHECK(std::regex_match(started.jsonString("expected_txt_value"), kTxtValue));
    CHECK(challengesAnswered(domain, "dns-01") == 1);
    CHECK(challengesAnswered(domain, "dns-persist-01") == 0);
    CHECK(caaAllowedMethods(domain) == "dns-01");
    // The record was usable: CAA alone kept the order on dns-01.
    CHECK(persistOutcome(domain) == "usable");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "dns-persist-01: CAA validationmethods=dns-persist-01 and a SERVFAIL at _validation-persist "
    "answer 424 with Retry-After, not caa_forbidden, and a later call orders") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("persist-caa-servfail", leftovers);
    records.caa(domain.name, "issue", kIssuer + "; validationmethods=dns-persist-01");
    {
        // README "CAA": a lookup that fails is neither permission nor refusal. Only the persist
        // record's lookup fails here; the CAA lookup answers.
        SandboxRecords failing;
        failing.servfail(persistName(domain));
        const int ordersBefore = ordersAtTheCa();
        const HttpResult failed = issueCertificate(domain);
        INFO("issue-certificate: " << failed.body);
        CHECK(failed.status == 424);
        CHECK(failed.jsonString("error_code") == "dns_servfail");
        CHECK_FALSE(failed.header("Retry-After").empty());
        CHECK(failed.jsonString("error").find("dns-persist-01 lookup for " + domain.name) !=
              std::string::npos);
        const auto caa = failed.json()->getObject("caa");
        REQUIRE(caa);
        CHECK(caa->getValue<std::string>("result") == "dns_servfail");
        CHECK_FALSE(caa->has("suggested_records"));
        CHECK(caa->getArray("names")->getObject(0)->getValue<std::string>("result") ==
              "dns_servfail");
        CHECK(ordersAtTheCa() == ordersBefore);
        CHECK(view(domain).jsonString("status") == "verified");
    }
    // The lookup answers again, the record published: the call orders with dns-persist-01 (a
    // resolver may keep the SERVFAIL a few seconds, so 424 until then).
    const auto scheduler = startScheduler();
    records.txt(persistName(domain), persistRecord(ourAccountUrl()));
    HttpResult started;
    REQUIRE(waitFor(
        20s,
        [&] {
            started = issueCertificate(domain);
            return started.status != 424;
        },
        1s));
    INFO("issue-certificate: " << started.body);
    CHECK(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-persist-01");
    CHECK(scheduler->terminate() == 0);
}
