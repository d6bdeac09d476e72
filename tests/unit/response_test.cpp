// Responses: the one error-code -> status table, the {"error": ...} envelope, CGI serialisation.
#include "http/response.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error.hpp"

using namespace dnsh;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

TEST_CASE("httpStatus maps every error code") {
    struct Case {
        std::string description;
        ErrorCode code;
        int status;
    };
    const std::vector<Case> cases{
        {"BadRequest", ErrorCode::BadRequest, 400},
        {"Unauthorized", ErrorCode::Unauthorized, 401},
        {"NotFound", ErrorCode::NotFound, 404},
        {"MethodNotAllowed", ErrorCode::MethodNotAllowed, 405},
        {"Conflict", ErrorCode::Conflict, 409},
        {"PayloadTooLarge", ErrorCode::PayloadTooLarge, 413},
        {"UnsupportedMediaType", ErrorCode::UnsupportedMediaType, 415},
        {"UnprocessableContent", ErrorCode::UnprocessableContent, 422},
        {"FailedDependency", ErrorCode::FailedDependency, 424},
        {"BadGateway", ErrorCode::BadGateway, 502},
        {"DatabaseUnavailable", ErrorCode::DatabaseUnavailable, 503},
        {"DatabaseTimeout", ErrorCode::DatabaseTimeout, 503},
        {"Internal", ErrorCode::Internal, 500},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(httpStatus(c.code) == c.status);
        CHECK(reasonPhrase(c.status) != "Unknown");
    }
}

TEST_CASE("reasonPhrase") {
    struct Case {
        int status;
        std::string phrase;
    };
    const std::vector<Case> cases{
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {400, "Bad Request"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {424, "Failed Dependency"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {500, "Internal Server Error"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.status);
        CHECK(reasonPhrase(c.status) == c.phrase);
    }
}

TEST_CASE("errorResponse body is exactly {\"error\": message}") {
    struct Case {
        std::string description;
        ErrorCode code;
        std::string message;
        int status;
        std::string body;
    };
    const std::vector<Case> cases{
        {"not found", ErrorCode::NotFound, "domain not found", 404,
         R"({"error":"domain not found"})"},
        {"bad request", ErrorCode::BadRequest, "invalid domain_name: must not be empty", 400,
         R"({"error":"invalid domain_name: must not be empty"})"},
        {"quotes and backslash escaped", ErrorCode::Conflict, "say \"hi\" \\ bye", 409,
         R"({"error":"say \"hi\" \\ bye"})"},
        {"empty message", ErrorCode::BadGateway, "", 502, R"({"error":""})"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const Response response = errorResponse(c.code, c.message);
        CHECK(response.status == c.status);
        CHECK(response.body == c.body);
        const auto object = parse(response.body);
        CHECK(object->size() == 1);
        CHECK(object->getValue<std::string>("error") == c.message);
    }
}

TEST_CASE("errorResponse: a 503 says when to retry, other errors do not") {
    auto retryAfter = [](const Response& response) {
        for (const auto& [name, value] : response.headers)
            if (name == "Retry-After") return value;
        return std::string();
    };
    CHECK(retryAfter(errorResponse(ErrorCode::DatabaseUnavailable, "database unavailable")) == "2");
    CHECK(retryAfter(errorResponse(ErrorCode::DatabaseTimeout, "database busy")) == "2");
    CHECK(retryAfter(errorResponse(ErrorCode::Internal, "internal error")).empty());
    CHECK(retryAfter(errorResponse(ErrorCode::NotFound, "domain not found")).empty());
}

TEST_CASE("errorResponse: an error's Retry-After is whole seconds, at least 1") {
    auto retryAfter = [](const Error& error) {
        std::string value;
        int headers = 0;
        for (const auto& [name, header] : errorResponse(error).headers)
            if (name == "Retry-After") {
                value = header;
                ++headers;
            }
        CHECK(headers == 1);
        return value;
    };
    auto after = [](std::chrono::seconds delay) {
        return Error(ErrorCode::BadGateway, "ACME CA refused: rate limited", "ca_rate_limited")
            .retryAfter(delay);
    };
    // Before, a CA's "Retry-After: 0" (or an HTTP-date in the past) was passed on as "0": ask
    // again at once (openapi.json: at least 1).
    CHECK(retryAfter(after(std::chrono::seconds(0))) == "1");
    CHECK(retryAfter(after(std::chrono::seconds(-5))) == "1");
    CHECK(retryAfter(after(std::chrono::seconds(1))) == "1");
    CHECK(retryAfter(after(std::chrono::seconds(300))) == "300");
    // A 503's own delay replaces the default 2.
    CHECK(retryAfter(Error(ErrorCode::DatabaseTimeout, "database busy")
                         .retryAfter(std::chrono::seconds(0))) == "1");
    // tooSoon rounds its milliseconds up.
    CHECK(retryAfter(Error::tooSoon("too soon", std::chrono::milliseconds(0))) == "1");
    CHECK(retryAfter(Error::tooSoon("too soon", std::chrono::milliseconds(1001))) == "2");
    CHECK(retryAfter(Error::tooSoon("too soon", std::chrono::milliseconds(2000))) == "2");
}

TEST_CASE("errorResponse keeps the body printable ASCII JSON whatever the message holds") {
    struct Case {
        std::string description;
        std::string message;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"control characters", std::string("tab\there, nul") + '\0' + "end", "tab?here, nul?end"},
        {"invalid UTF-8 from a client path", "no such endpoint: /\xff\xfe",
         "no such endpoint: /??"},
        {"a multibyte character cut in half", "name \xc3", "name ?"},
        {"plain text unchanged", "domain not found", "domain not found"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const Response response = errorResponse(ErrorCode::BadRequest, c.message);
        for (unsigned char byte : response.body) CHECK((byte >= 0x20 && byte < 0x7f));
        CHECK(parse(response.body)->getValue<std::string>("error") == c.expected);
    }
}

TEST_CASE("serializeCgiResponse writes CGI headers then the body") {
    Response response = errorResponse(ErrorCode::NotFound, "domain not found");
    const std::string text = serializeCgiResponse(response, "req-42");
    CHECK(text.rfind("Status: 404 Not Found\r\n", 0) == 0);
    CHECK(text.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    CHECK(text.find("\r\nX-Request-Id: req-42\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n") !=
          std::string::npos);
    const std::size_t blank = text.find("\r\n\r\n");
    REQUIRE(blank != std::string::npos);
    CHECK(text.substr(blank + 4) == response.body);
}

TEST_CASE("serializeCgiResponse includes extra headers and success statuses") {
    struct Case {
        std::string description;
        int status;
        std::string statusLine;
    };
    const std::vector<Case> cases{
        {"created", 201, "Status: 201 Created\r\n"},
        {"accepted", 202, "Status: 202 Accepted\r\n"},
        {"method not allowed", 405, "Status: 405 Method Not Allowed\r\n"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        Response response{c.status, "{}", {{"Allow", "GET, POST"}}};
        const std::string text = serializeCgiResponse(response, "abc");
        CHECK(text.rfind(c.statusLine, 0) == 0);
        const std::size_t blank = text.find("\r\n\r\n");
        REQUIRE(blank != std::string::npos);
        CHECK(text.substr(0, blank + 2).find("\r\nAllow: GET, POST\r\n") != std::string::npos);
        CHECK(text.substr(blank + 4) == "{}");
    }
}

TEST_CASE("serializeCgiResponse of a HEAD answer: the GET headers and Content-Length, no body") {
    for (const int status : {200, 404, 405}) {
        CAPTURE(status);
        Response response{status, R"({"status":"ok"})", {}};
        response.withoutBody = true;
        const std::string text = serializeCgiResponse(response, "abc");
        const std::size_t blank = text.find("\r\n\r\n");
        REQUIRE(blank != std::string::npos);
        CHECK(text.substr(0, blank + 2).find("\r\nContent-Length: 15\r\n") != std::string::npos);
        CHECK(text.substr(0, blank + 2).find("\r\nContent-Type: application/json\r\n") !=
              std::string::npos);
        CHECK(text.substr(blank + 4) == "");
    }
}

TEST_CASE("jsonResponse stringifies the object") {
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("status", std::string("pending"));
    const Response response = jsonResponse(201, body);
    CHECK(response.status == 201);
    CHECK(response.body == R"({"status":"pending"})");
}
