#pragma once
// A small HTTP client for the end-to-end tests (Poco Net), with the JSON body parsed.
#include <Poco/JSON/Object.h>

#include <map>
#include <string>

namespace dnsh::test {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& name) const;  // "" when absent
    // Retry-After (RFC 9110 §10.2.3) as delay-seconds; -1 when absent or not a number.
    long long retryAfterSeconds() const;
    // The body as a JSON object; fails the test when it is not one.
    Poco::JSON::Object::Ptr json() const;
    std::string jsonString(const std::string& field) const;  // "" when absent
};

struct HttpRequest {
    std::string method = "GET";
    std::string path;  // appended to the base URL
    std::string body;
    std::string contentType = "application/json";  // empty: no Content-Type header
    std::map<std::string, std::string> headers;
};

// A request to the API: the answer is also held to deploy/api/openapi.json (support/openapi_check),
// and any difference fails the test case that sent it.
HttpResult send(const std::string& baseUrl, const HttpRequest& request);

// Fails the running test case for every way the answer differs from deploy/api/openapi.json
// (support/openapi_check): what send() does, for answers read another way (sendRaw).
void holdToDocument(const std::string& method, const std::string& path, const HttpResult& answer);

// A request to another service of the stack (pebble-challtestsrv's API, ...): not checked.
HttpResult sendToService(const std::string& baseUrl, const HttpRequest& request);

// Shorthands against BASE_URL.
HttpResult get(const std::string& path);
HttpResult postJson(const std::string& path, const std::string& body);

}  // namespace dnsh::test
