// GET /domains/{id} through the get_domain handler (CGI) against the real PostgreSQL.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "domain/delegation.hpp"
#include "integration_support.hpp"

namespace dnsh::test {

TEST_CASE("get_domain: a pending domain is 200 with timestamps and without its token") {
    const RegisteredDomain domain = registerFreshDomain("get");
    const HttpResult result = getDomain(domain.id);
    INFO("body: " << result.body);
    REQUIRE(result.status == 200);
    checkEnvelope(result);
    const auto body = result.json();
    CHECK(keysOf(body) ==
          domainViewKeys({"id", "domain_name", "status", "created_at", "updated_at"}));
    CHECK(result.jsonString("id") == domain.id);
    CHECK(result.jsonString("domain_name") == domain.name);
    CHECK(result.jsonString("status") == "pending");
    CHECK(std::regex_match(result.jsonString("created_at"), rfc3339Utc()));
    CHECK(std::regex_match(result.jsonString("updated_at"), rfc3339Utc()));
    CHECK_FALSE(body->has("verification_token"));
    CHECK_FALSE(body->has("verified_at"));
    CHECK(result.body.find(domain.token) == std::string::npos);
}

TEST_CASE(
    "get_domain: the delegation CNAME's label is stored at registration, and a domain without one "
    "(registered before migration 022) shows the same target") {
    const char* zone = std::getenv("DELEGATION_ZONE");
    REQUIRE(zone != nullptr);  // the test stack configures delegation
    const RegisteredDomain domain = registerFreshDomain("label");
    const std::string label = delegationLabel(domain.token, domain.name);
    CHECK(scalar("SELECT delegation_label FROM domains WHERE id = " + quoted(domain.id)) == label);
    auto shownTarget = [&] {
        const HttpResult result = getDomain(domain.id);
        INFO("body: " << result.body);
        REQUIRE(result.status == 200);
        return result.json()->getObject("delegation")->getValue<std::string>("record_value");
    };
    CHECK(shownTarget() == label + "." + zone);
    execute("UPDATE domains SET delegation_label = NULL WHERE id = " + quoted(domain.id));
    CHECK(shownTarget() == label + "." + zone);
}

TEST_CASE("get_domain: timestamps are the database's, in UTC") {
    const RegisteredDomain domain = registerFreshDomain("gettime");
    // A fixed instant given with a +02:00 offset must come back as the same instant in UTC.
    execute(
        "UPDATE domains SET created_at = '2026-03-04 07:08:09+02', "
        "updated_at = '2026-12-31 23:59:59-05' WHERE id = " +
        quoted(domain.id));
    const HttpResult result = getDomain(domain.id);
    REQUIRE(result.status == 200);
    CHECK(result.jsonString("created_at") == "2026-03-04T05:08:09Z");
    CHECK(result.jsonString("updated_at") == "2027-01-01T04:59:59Z");
}

TEST_CASE("get_domain: unknown and malformed ids are 404 domain not found") {
    const RegisteredDomain domain = registerFreshDomain("getbad");
    std::string upperId = domain.id;
    std::transform(upperId.begin(), upperId.end(), upperId.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    REQUIRE(upperId != domain.id);  // ids of 32 digits only would make this case moot
    struct Case {
        std::string description;
        std::string id;
    };
    const std::vector<Case> cases = {
        {"well-formed but unknown", randomHex(16)},
        {"too short", domain.id.substr(0, 31)},
        {"too long", domain.id + "0"},
        {"a short word", "abc"},
        {"the real id in upper case", upperId},
        {"non-hex letters", std::string(32, 'g')},
        {"quotes and SQL", "'; DROP TABLE domains; --"},
        {"a double quote", "\"" + domain.id + "\""},
        {"percent-encoded", "%27" + domain.id},
        {"10 KB", std::string(10240, 'a')},
    };
    for (const Case& c : cases) {
        INFO(c.description << ": " << c.id.substr(0, 60));
        const HttpResult result = getDomain(c.id);
        checkError(result, 404, "domain not found");
        CHECK(result.jsonString("error") == "domain not found");
    }
    CHECK(domainRowsNamed(domain.name) == 1);  // the SQL-looking id did no harm
}

TEST_CASE("get_domain: other methods are 405 with Allow: GET, HEAD, DELETE") {
    const RegisteredDomain domain = registerFreshDomain("getmethod");
    // DELETE is delete_domain's (lighttpd routes it there); as CGI this handler lists it too.
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
        INFO("method " << method);
        CgiRequest request;
        request.method = method;
        request.path = "/domains/" + domain.id;
        const HttpResult result = runCgi("get_domain", request);
        checkError(result, 405, "use GET, HEAD, DELETE");
        CHECK(result.header("Allow") == "GET, HEAD, DELETE");
    }
    CHECK(domainRowsNamed(domain.name) == 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "pending");
}

TEST_CASE("get_domain: HEAD is GET without the body, Content-Length that of the GET body") {
    const RegisteredDomain domain = registerFreshDomain("gethead");
    struct Case {
        std::string description, id;
        int status;
    };
    const std::vector<Case> cases{
        {"the domain", domain.id, 200},
        {"unknown", "0123456789abcdef0123456789abcdef", 404},
        {"malformed", "x", 404},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CgiRequest request;
        request.path = "/domains/" + c.id;
        const HttpResult asGet = runCgi("get_domain", request);
        request.method = "HEAD";
        const HttpResult asHead = runCgi("get_domain", request);
        CHECK(asGet.status == c.status);
        CHECK(asHead.status == c.status);
        CHECK(asHead.body == "");
        CHECK_FALSE(asGet.body.empty());
        CHECK(asHead.header("Content-Type") == asGet.header("Content-Type"));
        CHECK(asHead.header("Content-Length") == std::to_string(asGet.body.size()));
        CHECK(asHead.header("X-Request-Id") != "");
    }
}

}  // namespace dnsh::test
