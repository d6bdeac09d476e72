// A CA that changes its directory while the service runs, against the stand-in CA
// tests/support/stalled_ca.py --profiles-file: a profile it adds (draft-ietf-acme-profiles §3, as
// Let's Encrypt added "tlsserver" in 2025) is taken by POST /domains, which reads the directory
// fresh, and then by issue-certificate in a handler process that read the directory before the
// profile was added: acme::Client reads it again before refusing a profile its copy does not
// list (issuance/profiles.hpp requireOfferedNow). A copy gone stale whose re-read fails stays in
// use (acme/client.hpp directory()), with --fail-directory-when.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

TEST_CASE("CA directory change: a profile the CA adds after a handler read its directory is "
          "ordered by issue-certificate") {
    Leftovers leftovers;
    const TempDir dir;
    const std::string profiles = dir.write("profiles", "default\n");
    StalledCa ca({"--stall", "none", "--profiles-file", profiles});
    // One issue-certificate process (ApiServer's DNSH_ISSUE_HANDLER_PROCS=1): the second order
    // is placed by the process that read the directory for the first.
    ApiServer api("ca-directory-change", {{"ACME_DIRECTORY", ca.directory()}});
    const TestDomain first = verifiedDomain("ca-directory-before", leftovers);
    const HttpResult firstOrder = send(api.baseUrl(), issueRequest(first));
    REQUIRE_MESSAGE(firstOrder.status == 202, firstOrder.body << "\n" << describe(ca.process()));
    REQUIRE(ca.requests("POST", "/order-plz") == 1);

    dir.write("profiles", "default\ntlsserver\n");
    // POST /domains reads the directory fresh: the new profile is offered.
    const std::string name = uniqueDomainName("ca-directory-after");
    const HttpResult created =
        send(api.baseUrl(), {"POST", "/domains",
                             "{\"domain_name\": \"" + name + "\", \"profile\": \"tlsserver\"}",
                             "application/json", {}});
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain second{created.jsonString("id"), name,
                            created.jsonString("verification_token")};
    leftovers.add(second);
    setTxt(second.challengeName(), second.token);
    const HttpResult verified = postJson("/domains/" + second.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);

    const HttpResult placed = send(api.baseUrl(), issueRequest(second));
    INFO(placed.body << "\n" << describe(ca.process()));
    // Before: 502 invalid_profile, "the domain's profile "tlsserver" is not a profile the CA
    // offers (it offers: default)", from the handler's copy of the directory read for the first
    // order; no newOrder reached the CA (1 there).
    CHECK(placed.status == 202);
    CHECK(placed.jsonString("error_code") != "invalid_profile");
    CHECK(ca.requests("POST", "/order-plz") == 2);
    CHECK(scalar("SELECT profile FROM acme_orders WHERE domain_id = " + quoted(second.id)) ==
          "tlsserver");
}

TEST_CASE("CA directory change: a stale copy whose re-read fails is used, the orders placed, and "
          "read again only a minute later") {
    Leftovers leftovers;
    const TempDir dir;
    const std::string down = dir.path() + "/directory-down";
    StalledCa ca({"--stall", "none", "--fail-directory-when", down});
    // One issue-certificate process whose copy is stale a second after its read.
    ApiServer api("ca-directory-stale",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_DIRECTORY_LIFETIME", "1s"}});
    const TestDomain first = verifiedDomain("ca-directory-fresh", leftovers);
    const TestDomain second = verifiedDomain("ca-directory-stale", leftovers);
    const HttpResult firstOrder = send(api.baseUrl(), issueRequest(first));
    REQUIRE_MESSAGE(firstOrder.status == 202, firstOrder.body << "\n" << describe(ca.process()));
    // One read, or two when this order outlasted the copy's second.
    const int readsBefore = ca.requests("GET", "/dir");

    // The directory alone goes down (503), and the copy goes stale.
    dir.write("directory-down", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const HttpResult secondOrder = send(api.baseUrl(), issueRequest(second));
    const std::string log = readFile(api.handlersLog().string());
    INFO(secondOrder.body << "\n" << describe(ca.process()) << "\nhandlers: " << log);
    // Before: the failed re-read threw before the CAA precheck's and every later request: 502
    // ca_refused ("the stand-in's directory is down for now"), no second newOrder.
    CHECK(secondOrder.status == 202);
    CHECK(ca.requests("POST", "/order-plz") == 2);
    CHECK(log.find("acme directory not read again; the copy held is used") != std::string::npos);
    // One failed read; the nonce, newOrder and authorization requests after it used the copy
    // (before: each would have read the directory again first).
    CHECK(ca.requests("GET", "/dir") == readsBefore + 1);
}

TEST_CASE("CA directory change: a profile the CA does not offer reads its directory again at "
          "most once a minute, not at every order") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none"});
    // A setting naming a profile the CA does not offer (as a domain's profile only a later CA
    // offers is, at the first): every order is refused invalid_profile.
    ApiServer api("ca-directory-miss",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_PROFILE", "nonesuch"}});
    std::vector<TestDomain> domains;
    for (int i = 0; i < 3; ++i)
        domains.push_back(verifiedDomain("ca-directory-miss", leftovers));
    const int readsBefore = ca.requests("GET", "/dir");
    for (const TestDomain& domain : domains) {
        const HttpResult refused = send(api.baseUrl(), issueRequest(domain));
        INFO(refused.body);
        CHECK(refused.status == 502);
        CHECK(refused.jsonString("error_code") == "invalid_profile");
    }
    INFO(describe(ca.process()));
    CHECK(ca.requests("POST", "/order-plz") == 0);
    // The first order's read and one re-read before refusing; the next two orders use it.
    // Before: each refusal read it again first: 4 reads.
    CHECK(ca.requests("GET", "/dir") == readsBefore + 2);
}
