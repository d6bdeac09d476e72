// The checker every e2e answer goes through (support/openapi_check): it accepts answers as the
// document describes them and names what differs otherwise; else the e2e hook could not fail.
#include "support/openapi_check.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using dnsh::test::ObservedAnswer;
using dnsh::test::OpenApiDocument;

namespace {

const std::string kId = "0123456789abcdef0123456789abcdef";
const std::string kJson = "application/json";

const std::string kActiveDomain = R"({"id":")" + kId +
                                  R"(","domain_name":"shop.example.com","status":"active",)"
                                  R"("verified_at":"2026-06-25T16:30:00Z",)"
                                  R"("created_at":"2026-06-25T16:29:00Z",)"
                                  R"("updated_at":"2026-06-25T16:31:10Z",)"
                                  R"("certificate":{"id":"c1","issued_at":"2026-06-25T16:31:00Z",)"
                                  R"("expires_at":"2026-09-23T16:31:00Z"},)"
                                  R"("renewal":{"status":"scheduled"}})";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

struct Case {
    std::string description;
    ObservedAnswer answer;
    std::string violationPart;  // "" when the answer conforms
};

}  // namespace

TEST_CASE("openapi check: conforming answers pass, and each difference is named") {
    const std::string list = R"({"items":[)" + kActiveDomain + R"(],"next_cursor":null})";
    const std::vector<Case> cases{
        {"a full domain view", {"GET", "/domains/" + kId, 200, kJson, kActiveDomain}, ""},
        {"a page with a null cursor", {"GET", "/domains?limit=5", 200, kJson, list}, ""},
        {"an error with its code", {"POST", "/domains/" + kId + "/verify", 424, kJson,
                                    R"({"error":"no TXT","error_code":"dns_timeout"})"}, ""},
        {"a 204 without a body", {"DELETE", "/domains/" + kId, 204, "", ""}, ""},
        {"an unknown path gets 404", {"GET", "/admin", 404, kJson, R"({"error":"not found"})"}, ""},
        {"a wrong method gets 405", {"PUT", "/domains", 405, kJson, R"({"error":"no"})"}, ""},
        {"the docs page is HTML", {"GET", "/docs", 200, "text/html; charset=utf-8", "<html>"}, ""},

        {"a required field missing",
         {"GET", "/domains/" + kId, 200, kJson, replaced(kActiveDomain, R"("status":"active",)", "")},
         "lacks the required field \"status\""},
        {"a required field missing in a nested object",
         {"GET", "/domains/" + kId, 200, kJson,
          replaced(kActiveDomain, R"(,"expires_at":"2026-09-23T16:31:00Z")", "")},
         "body.certificate lacks the required field \"expires_at\""},
        {"a required field missing in an array item",
         {"GET", "/domains", 200, kJson, replaced(list, R"("domain_name":"shop.example.com",)", "")},
         "body.items[0] lacks the required field \"domain_name\""},
        {"a field of the wrong JSON type",
         {"GET", "/domains", 200, kJson, replaced(list, R"("next_cursor":null)", R"("next_cursor":7)")},
         "body.next_cursor is integer, documented as string or null"},
        {"a value outside its enum",
         {"GET", "/domains/" + kId, 200, kJson,
          replaced(kActiveDomain, R"("status":"scheduled")", R"("status":"sleeping")")},
         "body.renewal.status is \"sleeping\", not one of its enum values"},
        {"an id that breaks its pattern",
         {"GET", "/domains/" + kId, 200, kJson, replaced(kActiveDomain, kId, "XYZ")},
         "body.id \"XYZ\" does not match"},
        {"an undocumented status", {"GET", "/domains/" + kId, 418, kJson, R"({"error":"teapot"})"},
         "status not documented for /domains/{id}"},
        {"an error without its message", {"GET", "/domains/" + kId, 404, kJson, R"({"code":1})"},
         "lacks the required field \"error\""},
        {"an undocumented content type",
         {"GET", "/domains/" + kId, 200, "text/plain", kActiveDomain}, "is not one documented"},
        {"a body that is not JSON", {"GET", "/healthz", 200, kJson, "ok"}, "the body is not JSON"},
        {"a body where none is documented", {"DELETE", "/domains/" + kId, 204, kJson, "{}"},
         "documents no body"},
        {"an unknown path answered 200", {"GET", "/admin", 200, kJson, "{}"}, "must be 404"},
        {"a wrong method answered 200", {"PUT", "/domains", 200, kJson, "{}"}, "must be 405"},

        // HEAD (RFC 9110 §9.3.2): GET's status and headers, never a body.
        {"HEAD of a domain", {"HEAD", "/domains/" + kId, 200, kJson, ""}, ""},
        {"HEAD of liveness", {"HEAD", "/healthz", 200, kJson, ""}, ""},
        {"HEAD of the list, refused", {"HEAD", "/domains?limit=0", 400, kJson, ""}, ""},
        {"HEAD of metrics", {"HEAD", "/metrics", 200, "text/plain; version=0.0.4", ""}, ""},
        {"HEAD of an unknown domain", {"HEAD", "/domains/" + kId, 404, kJson, ""}, ""},
        {"HEAD where there is no GET", {"HEAD", "/domains/" + kId + "/verify", 405, kJson, ""},
         ""},
        {"HEAD of an unknown path", {"HEAD", "/admin", 404, kJson, ""}, ""},
        {"HEAD answered with a body", {"HEAD", "/healthz", 200, kJson, R"({"status":"ok"})"},
         "a HEAD answer has a body"},
        {"HEAD answered with a status GET does not document",
         {"HEAD", "/domains/" + kId, 418, kJson, ""}, "status not documented for /domains/{id}"},
        {"HEAD answered 200 where there is no GET",
         {"HEAD", "/domains/" + kId + "/verify", 200, kJson, ""}, "must be 405"},

        // Retry-After (RFC 9110 §10.2.3): declared by the response, whole seconds of at least 1.
        {"a handler's 503 with Retry-After",
         {"GET", "/readyz", 503, kJson, R"({"error":"database unavailable"})", "2"}, ""},
        {"a 429 with Retry-After",
         {"POST", "/domains/" + kId + "/check", 429, kJson, R"({"error":"too soon"})", "15"}, ""},
        {"Retry-After where the response declares none",
         {"GET", "/domains/" + kId, 404, kJson, R"({"error":"domain not found"})", "2"},
         "carries Retry-After, which the document does not declare"},
        {"Retry-After of 0 seconds",
         {"GET", "/readyz", 503, kJson, R"({"error":"database unavailable"})", "0"},
         "Retry-After \"0\" does not match"},
        {"HEAD with a Retry-After its response does not declare",
         {"HEAD", "/domains/" + kId, 404, kJson, "", "2"},
         "carries Retry-After, which the document does not declare"},

        // X-Request-Id: every answer of a handler carries it, lighttpd's own answers do not.
        {"a handler's 503 with its request id",
         {"GET", "/readyz", 503, kJson, R"({"error":"database unavailable"})", "2", "req-1"}, ""},
        {"a handler's 400 with its request id",
         {"GET", "/domains/" + kId + "?a=1&a=2", 400, kJson, R"({"error":"a given twice"})", "",
          "req-1"},
         ""},
        {"a handler's 413 with its request id",
         {"POST", "/domains", 413, kJson, R"({"error":"too large"})", "", "req-1"}, ""},
        {"HEAD 503 with its request id",
         {"HEAD", "/domains/" + kId, 503, kJson, "", "2", "req-1"}, ""},
        {"a request id where the response declares none",
         {"GET", "/domains/" + kId, 502, kJson, R"({"error":"bad gateway"})", "", "req-1"},
         "carries X-Request-Id, which the document does not declare"},
        {"a request id outside its pattern",
         {"GET", "/domains/" + kId, 404, kJson, R"({"error":"domain not found"})", "", "a b"},
         "X-Request-Id \"a b\" does not match"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const auto violations = OpenApiDocument::ofProject().violations(c.answer);
        std::string all;
        for (const auto& violation : violations) all += violation + "\n";
        CAPTURE(all);
        if (c.violationPart.empty()) {
            CHECK(violations.empty());
        } else {
            CHECK(all.find(c.violationPart) != std::string::npos);
        }
    }
}

TEST_CASE("openapi check: a HEAD 503 carries its GET's Retry-After on every GET path") {
    // HEAD runs the GET endpoint (RFC 9110 §9.3.2), a database failure's Retry-After included;
    // the document used to declare it on no HEAD 503, telling a probe that uses HEAD to expect
    // none.
    const std::vector<std::string> paths{"/domains", "/domains/" + kId,
                                         "/domains/" + kId + "/certificate", "/healthz", "/readyz",
                                         "/metrics"};
    for (const std::string& path : paths) {
        for (const std::string method : {"GET", "HEAD"}) {
            CAPTURE(method + " " + path);
            const std::string body = method == "HEAD" ? "" : R"({"error":"database unavailable"})";
            const auto violations = OpenApiDocument::ofProject().violations(
                {method, path, 503, kJson, body, "2"});
            std::string all;
            for (const auto& violation : violations) all += violation + "\n";
            CAPTURE(all);
            CHECK(violations.empty());
        }
    }
}
