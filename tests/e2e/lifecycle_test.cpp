// The client's walk-through through lighttpd (README "Walk-through"): register, publish the token
// in the sandbox DNS, verify, read the domain back; no certificate yet. Plus the request id.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

#include "crypto/random.hpp"
#include "e2e_helpers.hpp"
#include "support/database.hpp"

using namespace dnsh::test;
using namespace dnsh::test::e2e;

namespace {

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

}  // namespace

TEST_CASE("lifecycle: register, publish TXT, verify, read back, no certificate yet") {
    SandboxRecords dns;
    const std::string name = uniqueDomainName("walk");

    // Sent in upper case with the root dot: stored normalised.
    const HttpResult created = postJson("/domains", createBody(upper(name) + "."));
    checkHandlerAnswer(created, 201);
    REQUIRE(created.status == 201);
    const std::string id = created.jsonString("id");
    const std::string token = created.jsonString("verification_token");
    CHECK(matches(id, kHexId));
    CHECK(matches(token, kToken));
    CHECK(created.jsonString("domain_name") == name);
    CHECK(created.jsonString("status") == "pending");
    CHECK(created.jsonString("challenge_domain") == "_acme-challenge." + name);
    CHECK(created.jsonString("instructions")
              .rfind("Create a TXT record for _acme-challenge." + name + " with value: " + token,
                     0) == 0);
    CHECK(count("SELECT count(*) FROM domains WHERE id = '" + id + "' AND domain_name = '" + name +
                "' AND status = 'pending'") == 1);

    const HttpResult pending = get("/domains/" + id);
    checkHandlerAnswer(pending, 200);
    CHECK(pending.jsonString("status") == "pending");
    CHECK_FALSE(pending.json()->has("verified_at"));

    dns.txt("_acme-challenge." + name, token);
    const HttpResult verified = post("/domains/" + id + "/verify");
    checkHandlerAnswer(verified, 200);
    CHECK(verified.jsonString("id") == id);
    CHECK(verified.jsonString("domain_name") == name);
    CHECK(verified.jsonString("status") == "verified");
    const std::string verifiedAt = verified.jsonString("verified_at");
    CHECK(matches(verifiedAt, kRfc3339Utc));

    const HttpResult read = get("/domains/" + id);
    checkHandlerAnswer(read, 200);
    CHECK(read.jsonString("id") == id);
    CHECK(read.jsonString("domain_name") == name);
    CHECK(read.jsonString("status") == "verified");
    CHECK(read.jsonString("verified_at") == verifiedAt);
    CHECK(matches(read.jsonString("created_at"), kRfc3339Utc));
    CHECK(matches(read.jsonString("updated_at"), kRfc3339Utc));
    CHECK(read.jsonString("updated_at") >= read.jsonString("created_at"));
    // Only while certificate_pending; never the secret token once registered.
    CHECK_FALSE(read.json()->has("expected_txt_value"));
    CHECK_FALSE(read.json()->has("verification_token"));
    CHECK(count("SELECT count(*) FROM domains WHERE id = '" + id +
                "' AND status = 'verified' AND verified_at IS NOT NULL") == 1);

    const HttpResult certificate = get("/domains/" + id + "/certificate");
    checkError(certificate, 404, "certificate");

    // Verified once is verified: a second call conflicts with the state (409), which stays.
    checkError(post("/domains/" + id + "/verify"), 409, "verified");
    CHECK(get("/domains/" + id).jsonString("verified_at") == verifiedAt);
}

TEST_CASE("lifecycle: an IDN is stored as A-labels and its A-label spelling is the same domain") {
    const std::string name = uniqueDomainName("bücher");
    const HttpResult created = postJson("/domains", createBody(name));
    checkHandlerAnswer(created, 201);
    const std::string stored = created.jsonString("domain_name");
    CHECK(stored.rfind("xn--", 0) == 0);
    CHECK(stored.find("ü") == std::string::npos);
    CHECK(stored.size() > std::string(".test-dnsh.example").size());
    CHECK(stored.substr(stored.size() - 18) == ".test-dnsh.example");
    CHECK(created.jsonString("challenge_domain") == "_acme-challenge." + stored);

    checkError(postJson("/domains", createBody(stored)), 409, "already registered");
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = '" + stored + "'") == 1);
}

TEST_CASE("request id: every handler answer has one, and a sane client id comes back unchanged") {
    const Registered domain = registerDomain("reqid");
    const std::string mine = "e2e-" + dnsh::randomHex(8) + ".client:1";

    struct Case {
        const char* description;
        HttpRequest request;
        int status;
    };
    const std::vector<Case> cases = {
        {"create (409)",
         {"POST", "/domains", createBody(domain.name), "application/json", {}},
         409},
        {"get (200)", {"GET", "/domains/" + domain.id, "", "", {}}, 200},
        {"verify (424, no TXT)",
         {"POST", "/domains/" + domain.id + "/verify", "", "application/json", {}},
         424},
        {"certificate (404)", {"GET", "/domains/" + domain.id + "/certificate", "", "", {}}, 404},
        {"wrong method (405)", {"PATCH", "/domains/" + domain.id, "", "", {}}, 405},
        {"bad JSON (400)", {"POST", "/domains", "{", "application/json", {}}, 400},
    };
    for (const auto& c : cases) {
        INFO("case: " << std::string(c.description));
        HttpRequest withoutId = c.request;
        const HttpResult fresh = send(baseUrl(), withoutId);
        checkHandlerAnswer(fresh, c.status);
        CHECK_FALSE(fresh.header("X-Request-Id").empty());

        HttpRequest withId = c.request;
        withId.headers["X-Request-Id"] = mine;
        const HttpResult echoed = send(baseUrl(), withId);
        checkHandlerAnswer(echoed, c.status);
        CHECK(echoed.header("X-Request-Id") == mine);
    }

    // Fresh ids differ between requests.
    CHECK(get("/domains/" + domain.id).header("X-Request-Id") !=
          get("/domains/" + domain.id).header("X-Request-Id"));

    // Ids that are not sane are replaced by a fresh one, never echoed.
    for (const std::string& insane :
         {std::string("has spaces in it"), std::string(129, 'a'), std::string("semi;colon"),
          std::string("quote\"d"), std::string("<script>")}) {
        CAPTURE(insane);
        const HttpResult result =
            send(baseUrl(), {"GET", "/domains/" + domain.id, "", "", {{"X-Request-Id", insane}}});
        checkHandlerAnswer(result, 200);
        CHECK(result.header("X-Request-Id") != insane);
        CHECK_FALSE(result.header("X-Request-Id").empty());
    }
}
