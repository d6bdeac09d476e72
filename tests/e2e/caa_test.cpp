// CAA before any CA order (README "How issuance and renewal work", CAA; RFC 8659, RFC 8657):
// pebble-challtestsrv serves the customer's CAA records, the test stack's Pebble names itself
// "pebble.letsencrypt.org" in meta.caaIdentities and checks no CAA itself, so every refusal here
// is the service's own: no order may reach Pebble.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
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

const std::string kCaIdentity = "pebble.letsencrypt.org";


long long ordersInTheDatabase(const TestDomain& domain) {
    return count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id));
}

std::string statusOf(const TestDomain& domain) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id));
}

// The `caa` object of the domain view's checks.
Poco::JSON::Object::Ptr caaCheckOf(const TestDomain& domain) {
    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE_MESSAGE(view.status == 200, view.body);
    const auto checks = view.json()->getObject("checks");
    REQUIRE_MESSAGE(checks, view.body);
    const auto caa = checks->getObject("caa");
    REQUIRE_MESSAGE(caa, view.body);
    return caa;
}

std::string firstRecord(const Poco::JSON::Object::Ptr& caa) {
    const auto records = caa->getArray("names")->getObject(0)->getArray("records");
    return records && records->size() > 0 ? records->getElement<std::string>(0) : "";
}

// issue-certificate is refused for CAA: 400 caa_forbidden naming the record to add, nothing sent
// to the CA, the domain as it was.
HttpResult requireRefused(const TestDomain& domain, const std::string& messagePart) {
    const int ordersBefore = ordersAtTheCa();
    const std::string statusBefore = statusOf(domain);
    const HttpResult refused = issueCertificate(domain);
    INFO("body: " << refused.body);
    CHECK(refused.status == 400);
    CHECK(refused.jsonString("error_code") == "caa_forbidden");
    CHECK(refused.jsonString("error").find(messagePart) != std::string::npos);
    CHECK(ordersAtTheCa() == ordersBefore);
    CHECK(ordersInTheDatabase(domain) == 0);
    CHECK(statusOf(domain) == statusBefore);
    return refused;
}

}  // namespace

TEST_CASE(
    "CAA: a record naming another CA answers 400 caa_forbidden with the record to add, "
    "and no order reaches the CA") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("caa-other", leftovers);
    records.caa(domain.name, "issue", "other-ca.example");
    const std::string suggested = domain.name + ". CAA 0 issue \"" + kCaIdentity + "\"";

    const HttpResult refused = requireRefused(domain, suggested);
    const auto caa = refused.json()->getObject("caa");
    REQUIRE(caa);
    CHECK(caa->getValue<std::string>("result") == "caa_forbidden");
    CHECK(caa->getArray("suggested_records")->getElement<std::string>(0) == suggested);
    CHECK(firstRecord(caa) == domain.name + ". CAA 0 issue \"other-ca.example\"");
    // The domain view shows the same check.
    const auto shown = caaCheckOf(domain);
    CHECK(shown->getValue<std::string>("result") == "caa_forbidden");
    CHECK(shown->getArray("names")->getObject(0)->getValue<std::string>("found_at") == domain.name);

    // With the suggested record added beside it, the CA may issue.
    records.caa(domain.name, "issue", kCaIdentity);
    const HttpResult allowed = issueCertificate(domain);
    CHECK_MESSAGE(allowed.status == 202, allowed.body);
    CHECK(caaCheckOf(domain)->getValue<std::string>("result") == "allowed");
}

TEST_CASE(
    "CAA: a record at the parent naming pebble.letsencrypt.org allows issuance, found by "
    "climbing the tree") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("www.caa-parent", leftovers);
    const std::string parent = domain.name.substr(4);
    records.caa(parent, "issue", kCaIdentity);
    const int ordersBefore = ordersAtTheCa();
    const HttpResult allowed = issueCertificate(domain);
    REQUIRE_MESSAGE(allowed.status == 202, allowed.body);
    CHECK(ordersAtTheCa() == ordersBefore + 1);
    const auto caa = caaCheckOf(domain);
    CHECK(caa->getValue<std::string>("result") == "allowed");
    const auto name = caa->getArray("names")->getObject(0);
    CHECK(name->getValue<std::string>("found_at") == parent);
    const auto asked = name->getArray("asked");
    REQUIRE(asked->size() == 2);
    CHECK(asked->getElement<std::string>(0) == domain.name);
    CHECK(asked->getElement<std::string>(1) == parent);
}

TEST_CASE(
    "CAA: accounturi naming another account forbids, our own account's allows "
    "(RFC 8657 section 3)") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("caa-account", leftovers);
    {
        SandboxRecords records;
        records.caa(domain.name, "issue",
                    kCaIdentity + "; accounturi=https://127.0.0.1:1/my-account/0");
        requireRefused(domain, "accounturi");
    }
    // The account the handler used (registered by now), as the CA's URL for it.
    const std::string account =
        scalar("SELECT account_url FROM acme_accounts WHERE directory_url = " +
               quoted(requireEnv("ACME_DIRECTORY")));
    REQUIRE_FALSE(account.empty());
    SandboxRecords records;
    records.caa(domain.name, "issue", kCaIdentity + "; accounturi=" + account);
    const HttpResult allowed = issueCertificate(domain);
    CHECK_MESSAGE(allowed.status == 202, allowed.body);
}

TEST_CASE("CAA: validationmethods without dns-01 forbids (RFC 8657 section 4)") {
    Leftovers leftovers;
    SandboxRecords records;
    const TestDomain domain = verifiedDomain("caa-methods", leftovers);
    records.caa(domain.name, "issue", kCaIdentity + "; validationmethods=http-01");
    requireRefused(domain, "validationmethods");
}

TEST_CASE(
    "CAA: a wildcard is refused by issuewild naming another CA, the suggestion an "
    "issuewild record") {
    Leftovers leftovers;
    SandboxRecords records;
    // A wildcard's TXT record is at its base name (TestDomain::name is the base here).
    const std::string base = uniqueDomainName("caa-wild");
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"*." + base + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain domain{created.jsonString("id"), base,
                            created.jsonString("verification_token")};
    leftovers.add(domain);
    records.txt("_acme-challenge." + base, domain.token);
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    records.caa(base, "issue", kCaIdentity);
    records.caa(base, "issuewild", "other-ca.example");
    const HttpResult refused =
        requireRefused(domain, base + ". CAA 0 issuewild \"" + kCaIdentity + "\"");
    // The base name itself is allowed by its issue record.
    const auto names = refused.json()->getObject("caa")->getArray("names");
    REQUIRE(names->size() == 2);
    CHECK(names->getObject(0)->getValue<std::string>("result") == "caa_forbidden");
    CHECK(names->getObject(1)->getValue<std::string>("result") == "allowed");
}

TEST_CASE(
    "CAA: a lookup that fails (SERVFAIL) is neither permission nor refusal: 424 with "
    "Retry-After, the domain unchanged, and the next call goes through") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("caa-servfail", leftovers);
    const int ordersBefore = ordersAtTheCa();
    {
        SandboxRecords records;
        records.servfail(domain.name);
        const HttpResult failed = issueCertificate(domain);
        INFO("body: " << failed.body);
        CHECK(failed.status == 424);
        CHECK(failed.jsonString("error_code") == "dns_servfail");
        CHECK_FALSE(failed.header("Retry-After").empty());
        CHECK(ordersAtTheCa() == ordersBefore);
        CHECK(ordersInTheDatabase(domain) == 0);
        CHECK(statusOf(domain) == "verified");
        CHECK(caaCheckOf(domain)->getValue<std::string>("result") == "dns_servfail");
    }
    const HttpResult allowed = issueCertificate(domain);
    CHECK_MESSAGE(allowed.status == 202, allowed.body);
}

TEST_CASE(
    "CAA: a renewal is retried while the CAA lookup fails, refused once CAA names another "
    "CA (no order at the CA), and the view's renewal says why") {
    Leftovers leftovers;
    TestDomain domain;
    {
        const auto scheduler = startScheduler();
        domain = verifiedDomain("caa-renew", leftovers);
        publish(domain, startIssuance(domain));
        requireAllActive({domain}, 20s);
        CHECK(scheduler->terminate() == 0);
    }
    const std::string certificate =
        scalar("SELECT id FROM certificates WHERE domain_id = " + quoted(domain.id) + " LIMIT 1");
    const std::string liveRenewal =
        "domain_id = " + quoted(domain.id) + " AND kind = 'renewal' AND status = 'pending'";
    const int ordersBefore = ordersAtTheCa();
    SandboxRecords records;
    records.servfail(domain.name);
    execute("UPDATE certificates SET renew_at = now() WHERE id = " + quoted(certificate));
    {
        const auto scheduler = startScheduler({{"POLL_INTERVAL", "100ms"}});
        // Retried, not failed: the renewal order stays live and counts its attempts.
        REQUIRE_MESSAGE(waitFor(15s,
                                [&] {
                                    return count("SELECT count(*) FROM acme_orders WHERE " +
                                                 liveRenewal + " AND attempts >= 2") == 1;
                                }),
                        describe(*scheduler));
        CHECK(caaCheckOf(domain)->getValue<std::string>("result") == "dns_servfail");
        clearServfail(domain.name);
        records.caa(domain.name, "issue", "other-ca.example");
        execute("UPDATE acme_orders SET next_attempt_at = now() WHERE " + liveRenewal);
        REQUIRE_MESSAGE(waitFor(15s,
                                [&] {
                                    return get("/domains/" + domain.id)
                                               .body.find("\"error_code\":\"caa_forbidden\"") !=
                                           std::string::npos;
                                }),
                        get("/domains/" + domain.id).body);
        CHECK(scheduler->terminate() == 0);
    }
    const HttpResult view = get("/domains/" + domain.id);
    INFO("view: " << view.body);
    CHECK(view.jsonString("status") == "active");
    const auto renewal = view.json()->getObject("renewal");
    REQUIRE(renewal);
    CHECK(renewal->getValue<std::string>("status") == "failed");
    CHECK(renewal->getValue<std::string>("error_code") == "caa_forbidden");
    CHECK(renewal->getValue<std::string>("error").find(domain.name + ". CAA 0 issue \"" +
                                                       kCaIdentity + "\"") != std::string::npos);
    // Tried again later (the renewal backoff): renew_at is set again.
    CHECK_FALSE(renewal->optValue<std::string>("renew_at", "").empty());
    CHECK(caaCheckOf(domain)->getValue<std::string>("result") == "caa_forbidden");
    CHECK(ordersAtTheCa() == ordersBefore);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id) +
                " AND kind = 'renewal' AND order_url IS NOT NULL") == 0);
}
