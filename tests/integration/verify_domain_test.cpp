// POST /domains/{id}/verify through the verify_domain handler (CGI), with the TXT records
// published in pebble-challtestsrv (the DNS_RESOLVER of the test environment).
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "integration_support.hpp"

namespace dnsh::test {

namespace {

std::string statusOf(const std::string& id) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(id));
}

std::string verifiedAtOf(const std::string& id) {
    return scalar("SELECT verified_at FROM domains WHERE id = " + quoted(id));
}

void checkVerified(const HttpResult& result, const RegisteredDomain& domain) {
    INFO("body: " << result.body);
    REQUIRE(result.status == 200);
    checkEnvelope(result);
    const auto body = result.json();
    CHECK(keysOf(body) == domainViewKeys({"id", "domain_name", "status", "verified_at",
                                          "created_at", "updated_at", "checks"}));
    // The lookup that verified it, without the secret token itself (README "API", the domain view's
    // `checks`).
    const auto checks = body->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("name") == dnsh::challengeName(domain.name));
    CHECK(checks->getValue<std::string>("result") == "found");
    CHECK(result.jsonString("id") == domain.id);
    CHECK(result.jsonString("domain_name") == domain.name);
    CHECK(result.jsonString("status") == "verified");
    CHECK(std::regex_match(result.jsonString("verified_at"), rfc3339Utc()));
    CHECK(result.body.find(domain.token) == std::string::npos);
    CHECK(statusOf(domain.id) == "verified");
    CHECK_FALSE(verifiedAtOf(domain.id).empty());
}

// A failed verification leaves the domain pending and unverified.
void checkStillPending(const RegisteredDomain& domain) {
    CHECK(statusOf(domain.id) == "pending");
    CHECK(verifiedAtOf(domain.id).empty());
}

}  // namespace

TEST_CASE("verify_domain: the token in DNS verifies the domain") {
    struct Case {
        std::string description;
        // Publishes whatever the case needs for `domain`, through `dns` (cleared afterwards).
        std::function<void(SandboxRecords& dns, const RegisteredDomain& domain)> publish;
    };
    const std::vector<Case> cases = {
        {"the token as the only TXT value",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.txt(dnsh::challengeName(d.name), d.token);
         }},
        {"the token among several TXT values",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             const std::string name = dnsh::challengeName(d.name);
             dns.txt(name, "v=spf1 -all");
             dns.txt(name, randomHex(32));
             dns.txt(name, d.token);
             dns.txt(name, "another-unrelated-value");
         }},
        {"the challenge name is a CNAME to a name holding the token",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             const std::string target = uniqueDomainName("cname-target");
             dns.txt(target, d.token);
             dns.cname(dnsh::challengeName(d.name), target);
         }},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const RegisteredDomain domain = registerFreshDomain("verify");
        SandboxRecords dns;
        c.publish(dns, domain);
        checkVerified(verifyDomain(domain.id), domain);
        // What GET shows afterwards agrees.
        const HttpResult shown = getDomain(domain.id);
        CHECK(shown.status == 200);
        CHECK(shown.jsonString("status") == "verified");
        CHECK(std::regex_match(shown.jsonString("verified_at"), rfc3339Utc()));
    }
}

TEST_CASE("verify_domain: a verified domain cannot be verified again") {
    const RegisteredDomain domain = registerFreshDomain("verify-twice");
    SandboxRecords dns;
    dns.txt(dnsh::challengeName(domain.name), domain.token);
    const HttpResult first = verifyDomain(domain.id);
    REQUIRE(first.status == 200);
    const std::string verifiedAt = verifiedAtOf(domain.id);

    const HttpResult second = verifyDomain(domain.id);
    checkError(second, 409, "current status: verified");  // a conflict with its state
    CHECK(statusOf(domain.id) == "verified");
    CHECK(verifiedAtOf(domain.id) == verifiedAt);  // the first verification's time stands
}

TEST_CASE("verify_domain: TXT values without the token are 400 and the domain stays pending") {
    struct Case {
        std::string description;
        std::function<void(SandboxRecords& dns, const RegisteredDomain& domain)> publish;
        std::string fragment;
    };
    // Every one of them: error_code txt_mismatch, and the error says what was found where.
    const std::vector<Case> cases = {
        {"only a wrong token",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.txt(dnsh::challengeName(d.name), randomHex(32));
         },
         "verification token not found: found 1 TXT value(s) at _acme-challenge."},
        {"the token in upper case",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             std::string upperToken = d.token;
             for (char& ch : upperToken)
                 if (ch >= 'a' && ch <= 'f') ch = static_cast<char>(ch - 'a' + 'A');
             dns.txt(dnsh::challengeName(d.name), upperToken);
         },
         "verification token not found"},
        {"the token with one character missing",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.txt(dnsh::challengeName(d.name), d.token.substr(0, 63));
         },
         "verification token not found"},
        {"the token at the domain itself, not at _acme-challenge",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.txt(d.name, d.token);
             dns.txt(dnsh::challengeName(d.name), "something-else");
         },
         "verification token not found"},
        {"a CNAME to a name with the wrong value",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             const std::string target = uniqueDomainName("cname-wrong");
             dns.txt(target, randomHex(32));
             dns.cname(dnsh::challengeName(d.name), target);
         },
         "via CNAME to"},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const RegisteredDomain domain = registerFreshDomain("verify-wrong");
        SandboxRecords dns;
        c.publish(dns, domain);
        const HttpResult result = verifyDomain(domain.id);
        checkError(result, 400, c.fragment, "txt_mismatch");
        CHECK(result.body.find(domain.token) == std::string::npos);
        checkStillPending(domain);
    }
}

TEST_CASE("verify_domain: values reached through a CNAME out of the domain are counted only") {
    // The resolver may also serve zones only our network sees: what a customer's CNAME leads to
    // there must not come back through the checks (review 4, finding 1).
    const RegisteredDomain domain = registerFreshDomain("verify-cname-out");
    const std::string outside = "secret." + uniqueDomainName("cname-out");
    SandboxRecords dns;
    dns.txt(outside, "s3cret-internal-value");
    dns.cname(dnsh::challengeName(domain.name), outside);
    const HttpResult result = verifyDomain(domain.id);
    checkError(result, 400, "via CNAME to", "txt_mismatch");
    CHECK(result.body.find("s3cret-internal-value") == std::string::npos);
    checkStillPending(domain);
    const HttpResult view = getDomain(domain.id);
    INFO("view: " << view.body);
    REQUIRE(view.status == 200);
    CHECK(view.body.find("s3cret-internal-value") == std::string::npos);
    const auto checks = view.json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "txt_mismatch");
    const auto seen = checks->getArray("seen");
    REQUIRE(seen);
    REQUIRE(seen->size() == 1);
    const std::string entry = seen->getElement<std::string>(0);
    CHECK(entry.find("1 value(s) not shown") != std::string::npos);
    CHECK(entry.find(outside) != std::string::npos);
}

TEST_CASE("verify_domain: values reached through a CNAME under the domain itself are shown") {
    const RegisteredDomain domain = registerFreshDomain("verify-cname-own");
    const std::string own = "own." + domain.name;
    SandboxRecords dns;
    dns.txt(own, "customer-own-value");
    dns.cname(dnsh::challengeName(domain.name), own);
    checkError(verifyDomain(domain.id), 400, "via CNAME to", "txt_mismatch");
    const HttpResult view = getDomain(domain.id);
    INFO("view: " << view.body);
    REQUIRE(view.status == 200);
    const auto checks = view.json()->getObject("checks");
    REQUIRE(checks);
    const auto seen = checks->getArray("seen");
    REQUIRE(seen);
    REQUIRE(seen->size() == 1);
    CHECK(seen->getElement<std::string>(0) == "customer-own-value");
}

TEST_CASE("verify_domain: a failed attempt does not stop a later one") {
    const RegisteredDomain domain = registerFreshDomain("verify-retry");
    SandboxRecords dns;
    dns.txt(dnsh::challengeName(domain.name), randomHex(32));
    CHECK(verifyDomain(domain.id).status == 400);
    checkStillPending(domain);
    dns.txt(dnsh::challengeName(domain.name), domain.token);
    checkVerified(verifyDomain(domain.id), domain);
}

TEST_CASE("verify_domain: DNS failures are 424 and the domain stays pending") {
    struct Case {
        std::string description;
        std::function<void(SandboxRecords& dns, const RegisteredDomain& domain)> publish;
        std::map<std::string, std::string> env;
        std::string fragment;
        std::string errorCode;
    };
    const auto nothing = [](SandboxRecords&, const RegisteredDomain&) {};
    const std::vector<Case> cases = {
        {"no TXT record at all", nothing, {}, "no TXT record", "txt_not_found"},
        {"SERVFAIL at the challenge name",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.servfail(dnsh::challengeName(d.name));
         },
         {},
         "SERVFAIL",
         "dns_servfail"},
        {"a CNAME to a name without TXT",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.cname(dnsh::challengeName(d.name), uniqueDomainName("cname-empty"));
         },
         {},
         "no TXT record",
         "txt_not_found"},
        {"the resolver does not answer",
         [](SandboxRecords& dns, const RegisteredDomain& d) {
             dns.txt(dnsh::challengeName(d.name), d.token);  // there, but nobody asks the sandbox
         },
         {{"DNS_RESOLVER", "127.0.0.1:9"}, {"DNS_TIMEOUT", "500ms"}},
         "timed out",
         "dns_timeout"},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const RegisteredDomain domain = registerFreshDomain("verify-dns");
        SandboxRecords dns;
        c.publish(dns, domain);
        const HttpResult result = verifyDomain(domain.id, c.env);
        checkError(result, 424, c.fragment, c.errorCode);
        CHECK(result.jsonString("error").find(dnsh::challengeName(domain.name)) !=
              std::string::npos);
        checkStillPending(domain);
    }
}

TEST_CASE("verify_domain: a call whose lookup ends after another call verified the domain is 409 "
          "and leaves the domain's checks alone") {
    const RegisteredDomain domain = registerFreshDomain("verify-late");
    // The late call's lookup: a resolver that never answers, DNS_TIMEOUT later a dns_timeout.
    const std::string silentAddress =
        splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES")).front();
    FakeNameservers silent({silentAddress});
    auto late = std::async(std::launch::async, [&] {
        return verifyDomain(domain.id,
                            {{"DNS_RESOLVER", silentAddress + ":53"}, {"DNS_TIMEOUT", "2s"}});
    });
    // While it waits (it read the domain, pending, before asking), another call verified it and
    // the scheduler's issuance wrote its own check.
    REQUIRE(waitFor(std::chrono::seconds(10), [&] { return silent.queries() > 0; }));
    const std::string issuanceCheck =
        R"({"name":"_acme-challenge.)" + domain.name +
        R"(","expected":["issuance's value"],"seen":["issuance's value"],"result":"found",)"
        R"("checked_at":"2026-12-07T09:00:00.000Z"})";
    execute("UPDATE domains SET status = 'verified', verified_at = now(), last_check = " +
            quoted(issuanceCheck) + " WHERE id = " + quoted(domain.id));
    const HttpResult result = late.get();
    INFO("body: " << result.body);
    // Before: 424 dns_timeout for a verified domain, and its check replaced by the late lookup.
    CHECK(result.status == 409);
    CHECK(result.jsonString("error").find("current status: verified") != std::string::npos);
    CHECK(scalar("SELECT last_check FROM domains WHERE id = " + quoted(domain.id)) ==
          issuanceCheck);
    CHECK(statusOf(domain.id) == "verified");
}

TEST_CASE("verify_domain: unknown or malformed ids are 404") {
    for (const std::string& id : {randomHex(16), std::string("abc"), std::string(32, 'G')}) {
        INFO("id " << id);
        checkError(verifyDomain(id), 404, "domain not found");
    }
}

TEST_CASE("verify_domain: other methods are 405 with Allow: POST") {
    const RegisteredDomain domain = registerFreshDomain("verify-method");
    SandboxRecords dns;
    dns.txt(dnsh::challengeName(domain.name), domain.token);  // a GET must not verify either
    for (const std::string method : {"GET", "PUT", "DELETE"}) {
        INFO("method " << method);
        CgiRequest request;
        request.method = method;
        request.path = "/domains/" + domain.id + "/verify";
        request.contentType = "";
        const HttpResult result = runCgi("verify_domain", request);
        checkError(result, 405, "use POST");
        CHECK(result.header("Allow") == "POST");
    }
    checkStillPending(domain);
}

}  // namespace dnsh::test
