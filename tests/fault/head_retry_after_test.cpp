// HEAD is GET without the body (RFC 9110 §9.3.2), headers included. While PostgreSQL cannot be
// reached, every GET route that needs it answers 503 with Retry-After (RFC 9110 §10.2.3), and a
// load balancer or client probing with HEAD must learn the same wait. Through a lighttpd of the
// test's own whose handlers are pointed at a port nobody listens on; every answer is also held to
// deploy/api/openapi.json, its Retry-After included.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/api_server.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"

using namespace dnsh::test;

namespace {

// One request as a probe sends it, read to the connection's close (so a body sent after HEAD's
// headers would show), held to the OpenAPI document.
HttpResult probe(const ApiServer& server, const std::string& method, const std::string& path) {
    const HttpResult result = sendRaw(server.baseUrl(), method, path, "", "");
    holdToDocument(method, path, result);
    return result;
}

}  // namespace

TEST_CASE("fault: with PostgreSQL unreachable HEAD answers 503 with its GET's Retry-After") {
    // Port 1 has no listener: every connection is refused at once.
    ApiServer server("head-db-down",
                     {{"DATABASE_URL", "host=127.0.0.1 port=1 dbname=x user=postgres"}});
    const std::string id = "0123456789abcdef0123456789abcdef";
    struct Case {
        std::string description, path;
        int status;
    };
    const std::vector<Case> cases{
        {"the list", "/domains", 503},
        {"a domain", "/domains/" + id, 503},
        {"a certificate", "/domains/" + id + "/certificate", 503},
        {"readiness", "/readyz", 503},
        {"metrics", "/metrics", 503},
        // Liveness never touches the database (handlers/health.cpp): 200, and no Retry-After.
        {"liveness", "/healthz", 200},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        const HttpResult asGet = probe(server, "GET", c.path);
        const HttpResult asHead = probe(server, "HEAD", c.path);
        INFO("GET " << c.path << ": " << asGet.status << " " << asGet.body << ", Retry-After \""
                    << asGet.header("Retry-After") << "\"");
        INFO("HEAD " << c.path << ": " << asHead.status << ", Retry-After \""
                     << asHead.header("Retry-After") << "\"");
        CHECK(asGet.status == c.status);
        CHECK(asHead.status == c.status);
        CHECK(asHead.body == "");
        CHECK(asHead.header("Retry-After") == asGet.header("Retry-After"));
        if (c.status == 503) {
            CHECK(asGet.jsonString("error") == "database unavailable");
            CHECK(asHead.retryAfterSeconds() >= 1);
        } else {
            CHECK(asHead.header("Retry-After").empty());
        }
    }
}
