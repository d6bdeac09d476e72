// POST /domains with an Idempotency-Key through lighttpd (draft-ietf-httpapi-idempotency-key-
// header-06, README "API"). Before it, a client whose 201 was lost (a timeout, lighttpd's 502, the
// 503 of a connection lost after the commit) retried and got 409 with no id: the token was only
// in the lost answer, so the domain could never be verified. Now the retry with the same key gets
// the same registration; the key reused with another request is 422; a name registered under
// another key (or none) is 409 already_registered; a malformed key is 400.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_helpers.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/raw_http.hpp"

using namespace dnsh::test;
using namespace dnsh::test::e2e;
using namespace std::chrono_literals;

namespace {

// POST /domains with the Idempotency-Key field `field` (as sent: an sf-string in quotes), and
// X-Request-Id `requestId` when given.
HttpResult postWithKey(const std::string& body, const std::string& field,
                       const std::string& requestId = "") {
    std::map<std::string, std::string> headers{{"Idempotency-Key", field}};
    if (!requestId.empty()) headers["X-Request-Id"] = requestId;
    return send(baseUrl(), {"POST", "/domains", body, "application/json", headers});
}

// A fresh key, random as the draft recommends (§2.2).
std::string freshKey() {
    const std::string name = uniqueDomainName("key");
    return name.substr(0, name.find('.'));
}

std::string quotedKey(const std::string& key) {
    return "\"" + key + "\"";
}

long long rowsNamed(const std::string& name) {
    return count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name));
}

}  // namespace

TEST_CASE("idempotency: the same key twice gives 201 twice, with the same id and token") {
    const std::string name = uniqueDomainName("idem");
    const std::string key = freshKey();
    const HttpResult first = postWithKey(createBody(name), quotedKey(key));
    checkHandlerAnswer(first, 201);
    const std::string requestId = "idem-" + first.jsonString("id").substr(0, 12);
    const HttpResult again = postWithKey(createBody(name), quotedKey(key), requestId);
    checkHandlerAnswer(again, 201);
    CHECK(again.jsonString("id") == first.jsonString("id"));
    CHECK(again.jsonString("verification_token") == first.jsonString("verification_token"));
    CHECK(matches(again.jsonString("verification_token"), kToken));
    CHECK(again.jsonString("instructions") == first.jsonString("instructions"));
    CHECK(again.jsonString("created_at") == first.jsonString("created_at"));
    CHECK(rowsNamed(name) == 1);
    checkHandlerAnswer(get("/domains/" + first.jsonString("id")), 200);

    // The log says it was a replay, showing 8 characters of the key, never all of it.
    const std::string log = requireEnv("DNSH_TEST_LOG_DIR") + "/handlers.log";
    auto replayLine = [&] {
        std::istringstream lines(readFile(log));
        for (std::string line; std::getline(lines, line);)
            if (line.find("\"msg\":\"domain registration replayed\"") != std::string::npos &&
                line.find("\"request_id\":\"" + requestId + "\"") != std::string::npos)
                return line;
        return std::string();
    };
    REQUIRE(waitFor(5s, [&] { return !replayLine().empty(); }));
    CHECK(replayLine().find("\"idempotency_key\":\"" + key.substr(0, 8) + "...\"") !=
          std::string::npos);
    CHECK(readFile(log).find(key) == std::string::npos);
}

TEST_CASE("idempotency: a retry after the domain was verified gets the first answer, pending") {
    // The draft's §2.6: the result of the first request, not the domain as it is now (GET shows
    // that); the 201's status is "pending" in the OpenAPI document, as a registration always is.
    Leftovers leftovers;
    const std::string name = uniqueDomainName("idem-verified");
    const std::string key = freshKey();
    const HttpResult first = postWithKey(createBody(name), quotedKey(key));
    checkHandlerAnswer(first, 201);
    const TestDomain domain{first.jsonString("id"), name, first.jsonString("verification_token")};
    leftovers.add(domain);
    publish(domain, domain.token);
    checkHandlerAnswer(postJson("/domains/" + domain.id + "/verify", ""), 200);
    REQUIRE(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    const HttpResult again = postWithKey(createBody(name), quotedKey(key));
    checkHandlerAnswer(again, 201);
    CHECK(again.jsonString("status") == "pending");
    CHECK(again.jsonString("id") == domain.id);
    CHECK(again.jsonString("verification_token") == domain.token);
}

TEST_CASE("idempotency: the same key with another name is 422 and stores nothing") {
    const std::string name = uniqueDomainName("idem-a");
    const std::string key = freshKey();
    checkHandlerAnswer(postWithKey(createBody(name), quotedKey(key)), 201);
    const std::string other = uniqueDomainName("idem-b");
    const HttpResult reused = postWithKey(createBody(other), quotedKey(key));
    checkError(reused, 422, "Idempotency-Key was used with another request");
    CHECK(reused.jsonString("error_code") == "idempotency_key_reused");
    // Nothing of the first registration: no id, no token, no name.
    CHECK(reused.jsonString("verification_token").empty());
    CHECK(reused.jsonString("id").empty());
    CHECK(reused.body.find(name) == std::string::npos);
    CHECK(rowsNamed(other) == 0);
}

TEST_CASE("idempotency: the same key and name with another profile is 422") {
    // The test stack's CAs offer "shortlived" (tests/e2e/profile_test.cpp).
    const std::string name = uniqueDomainName("idem-profile");
    const std::string key = freshKey();
    checkHandlerAnswer(postWithKey(createBody(name), quotedKey(key)), 201);
    const HttpResult reused = postWithKey(
        R"({"domain_name": ")" + name + R"(", "profile": "shortlived"})", quotedKey(key));
    checkError(reused, 422, "Idempotency-Key");
    CHECK(reused.jsonString("error_code") == "idempotency_key_reused");
    CHECK(scalar("SELECT coalesce(profile, '(none)') FROM domains WHERE domain_name = " +
                 quoted(name)) == "(none)");
}

TEST_CASE("idempotency: another key, or none, for a registered name is 409 already_registered") {
    const std::string name = uniqueDomainName("idem-taken");
    const HttpResult first = postWithKey(createBody(name), quotedKey(freshKey()));
    checkHandlerAnswer(first, 201);
    for (const bool withKey : {true, false}) {
        CAPTURE(withKey);
        const HttpResult taken = withKey ? postWithKey(createBody(name), quotedKey(freshKey()))
                                         : postJson("/domains", createBody(name));
        checkError(taken, 409, "already registered");
        CHECK(taken.jsonString("error_code") == "already_registered");
        CHECK(taken.jsonString("verification_token").empty());
    }
    CHECK(rowsNamed(name) == 1);
}

TEST_CASE("idempotency: a malformed Idempotency-Key is 400 and stores nothing") {
    struct Case {
        const char* description;
        std::string field;
    };
    const std::vector<Case> cases{
        {"a UUID without the quotes", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
        {"an empty String", "\"\""},
        {"256 characters", quotedKey(std::string(256, 'k'))},
        {"parameters", "\"k\";x=1"},
        {"an escape of another character", "\"a\\nb\""},
    };
    const std::string name = uniqueDomainName("idem-bad");
    for (const Case& c : cases) {
        INFO("case: " << std::string(c.description));
        checkError(postWithKey(createBody(name), c.field), 400, "Idempotency-Key");
    }
    // Two fields: lighttpd joins them with ", ", which is no String (RFC 8941 §4.2).
    const std::string body = createBody(name);
    const HttpResult twice = sendRawRequest(
        baseUrl(), "POST /domains HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "Idempotency-Key: \"a\"\r\nIdempotency-Key: \"b\"\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    CHECK(twice.status == 400);
    CHECK(twice.jsonString("error").find("one String") != std::string::npos);
    CHECK(rowsNamed(name) == 0);
}
