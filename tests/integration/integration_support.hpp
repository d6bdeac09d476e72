#pragma once
// Helpers the handler (CGI) tests share: requests to the handlers, checks of the JSON envelope,
// direct SQL, and a guard that removes sandbox DNS records at the end of a case.
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/domain_name.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

inline const std::regex& rfc3339Utc() {
    static const std::regex pattern(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)");
    return pattern;
}

inline bool isLowerHex(const std::string& text, std::size_t length) {
    static const std::regex hex("^[0-9a-f]*$");
    return text.size() == length && std::regex_match(text, hex);
}

inline long long domainRows() {
    return count("SELECT count(*) FROM domains");
}

// Sends a request that must not add a row to domains, and checks that it did not. Other people's
// tests may register domains on the same database meanwhile: an attempt during which the count
// moved is repeated (these requests are rejections, so repeating them is harmless), and only five
// disturbed attempts in a row count as a failure. A repeat must answer exactly as the first
// attempt did: a first attempt that did insert would make its repeat a 409, which is caught here.
// Callers also check that no row carries the names their request used.
inline HttpResult sendExpectingNoNewRow(const std::function<HttpResult()>& send) {
    HttpResult first;
    long long before = 0;
    long long after = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
        before = domainRows();
        const HttpResult result = send();
        after = domainRows();
        if (attempt == 0) {
            first = result;
        } else if (result.status != first.status || result.body != first.body) {
            FAIL_CHECK("a repeated request answered " << result.status << " " << result.body
                                                      << " after " << first.status << " "
                                                      << first.body);
            break;
        }
        if (after == before) break;
    }
    CHECK_MESSAGE(after == before, "rows in domains went from " << before << " to " << after);
    return first;
}

inline long long domainRowsNamed(const std::string& name) {
    return count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name));
}

// {"domain_name": <name>} with JSON escaping done by Poco.
inline std::string domainNameBody(const std::string& name) {
    Poco::JSON::Object body;
    body.set("domain_name", name);
    std::ostringstream text;
    body.stringify(text);
    return text.str();
}

inline HttpResult createDomainRaw(const std::string& body,
                                  const std::string& contentType = "application/json",
                                  const std::map<std::string, std::string>& env = {}) {
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains";
    request.body = body;
    request.contentType = contentType;
    request.env = env;
    return runCgi("create_domain", request);
}

inline HttpResult createDomain(const std::string& name) {
    return createDomainRaw(domainNameBody(name));
}

inline HttpResult getDomain(const std::string& id,
                            const std::map<std::string, std::string>& env = {}) {
    CgiRequest request;
    request.method = "GET";
    request.path = "/domains/" + id;
    request.contentType = "";
    request.env = env;
    return runCgi("get_domain", request);
}

inline HttpResult verifyDomain(const std::string& id,
                               const std::map<std::string, std::string>& env = {}) {
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains/" + id + "/verify";
    request.contentType = "";
    request.env = env;
    return runCgi("verify_domain", request);
}

inline HttpResult getCertificate(const std::string& id,
                                 const std::map<std::string, std::string>& env = {}) {
    CgiRequest request;
    request.method = "GET";
    request.path = "/domains/" + id + "/certificate";
    request.contentType = "";
    request.env = env;
    return runCgi("get_certificate", request);
}

inline std::set<std::string> keysOf(const Poco::JSON::Object::Ptr& object) {
    std::vector<std::string> names;
    object->getNames(names);
    return {names.begin(), names.end()};
}

// The keys of a domain view: `keys`, plus "delegation" when DELEGATION_ZONE is configured (the
// test stack configures it).
inline std::set<std::string> domainViewKeys(std::set<std::string> keys) {
    const char* zone = std::getenv("DELEGATION_ZONE");
    if (zone != nullptr && *zone != '\0') keys.insert("delegation");
    return keys;
}

// Every response: JSON content type and an X-Request-Id.
inline void checkEnvelope(const HttpResult& result) {
    CHECK(result.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK_FALSE(result.header("X-Request-Id").empty());
}

// An error response: the status, and a body that is exactly {"error": "...<fragment>..."},
// plus "error_code" when `errorCode` is given (README "API", `error_code` values).
inline void checkError(const HttpResult& result, int status, const std::string& fragment,
                       const std::string& errorCode = "") {
    INFO("body: " << result.body);
    CHECK(result.status == status);
    checkEnvelope(result);
    const auto body = result.json();
    if (errorCode.empty()) {
        CHECK(keysOf(body) == std::set<std::string>{"error"});
    } else {
        CHECK(keysOf(body) == std::set<std::string>{"error", "error_code"});
        CHECK(result.jsonString("error_code") == errorCode);
    }
    const std::string message = result.jsonString("error");
    CHECK_MESSAGE(message.find(fragment) != std::string::npos,
                  "error \"" << message << "\" does not mention \"" << fragment << "\"");
}

struct RegisteredDomain {
    std::string id;
    std::string name;
    std::string token;
};

// Registers a fresh domain through the handler; fails the case when that does not work.
inline RegisteredDomain registerFreshDomain(const std::string& prefix) {
    const std::string name = uniqueDomainName(prefix);
    const HttpResult result = createDomain(name);
    INFO("create_domain answered: " << result.body);
    REQUIRE(result.status == 201);
    return {result.jsonString("id"), result.jsonString("domain_name"),
            result.jsonString("verification_token")};
}

}  // namespace dnsh::test
