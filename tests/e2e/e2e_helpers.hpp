#pragma once
// Shared by the API end-to-end tests (lifecycle, errors, dns, concurrency): what every answer
// must look like (README "API"), registering a domain, and sandbox DNS records that are
// cleared when a case ends, however it ends.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

namespace dnsh::test::e2e {

inline const std::regex kHexId(R"(^[0-9a-f]{32}$)");
inline const std::regex kToken(R"(^[0-9a-f]{64}$)");
inline const std::regex kRfc3339Utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
// A request id the service may hand out itself (request.hpp: 1-128 of [A-Za-z0-9._:-]).
inline const std::regex kSaneRequestId(R"(^[A-Za-z0-9._:-]{1,128}$)");

inline bool matches(const std::string& text, const std::regex& pattern) {
    return std::regex_match(text, pattern);
}

// The body parses as a JSON object; "" when it parses, else why not.
inline std::string jsonProblem(const HttpResult& result) {
    try {
        result.json();
        return "";
    } catch (const std::exception& error) {
        return error.what();
    }
}

// Any answer, from lighttpd itself or a handler: the expected status, a JSON content type and a
// JSON object body; an error status carries a non-empty "error" string.
inline void checkJsonAnswer(const HttpResult& result, int expectedStatus) {
    INFO("body: " << result.body);
    CHECK(result.status == expectedStatus);
    CHECK(result.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(jsonProblem(result) == "");
    if (expectedStatus >= 400 && jsonProblem(result).empty()) {
        const auto object = result.json();
        REQUIRE(object->has("error"));
        CHECK(object->get("error").isString());
        CHECK_FALSE(result.jsonString("error").empty());
    }
}

// An answer from a handler: as above, plus the request id every handler answer carries.
inline void checkHandlerAnswer(const HttpResult& result, int expectedStatus) {
    checkJsonAnswer(result, expectedStatus);
    CHECK(matches(result.header("X-Request-Id"), kSaneRequestId));
}

inline void checkError(const HttpResult& result, int expectedStatus,
                       const std::string& messagePart) {
    checkHandlerAnswer(result, expectedStatus);
    if (jsonProblem(result).empty()) {
        INFO("error: " << result.jsonString("error"));
        CHECK(result.jsonString("error").find(messagePart) != std::string::npos);
    }
}

inline HttpResult post(const std::string& path, const std::string& body = "",
                       const std::string& contentType = "application/json") {
    return send(baseUrl(), {"POST", path, body, contentType, {}});
}

inline HttpResult request(const std::string& method, const std::string& path) {
    return send(baseUrl(), {method, path, "", "", {}});
}

inline std::string createBody(const std::string& name) {
    return R"({"domain_name": ")" + name + R"("})";
}

struct Registered {
    std::string id;
    std::string name;
    std::string token;
    std::string challengeName() const { return "_acme-challenge." + name; }
};

// POST /domains with a fresh name; the case stops unless that gave 201 with an id and a token.
inline Registered registerDomain(const std::string& prefix) {
    const std::string name = uniqueDomainName(prefix);
    const HttpResult created = postJson("/domains", createBody(name));
    INFO("body: " << created.body);
    REQUIRE(created.status == 201);
    Registered domain{created.jsonString("id"), name, created.jsonString("verification_token")};
    REQUIRE(matches(domain.id, kHexId));
    REQUIRE(matches(domain.token, kToken));
    return domain;
}

}  // namespace dnsh::test::e2e
