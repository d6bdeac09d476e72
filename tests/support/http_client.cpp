#include "support/http_client.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>

#include "support/openapi_check.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

std::string HttpResult::header(const std::string& name) const {
    const auto found = headers.find(lower(name));
    return found == headers.end() ? "" : found->second;
}

long long HttpResult::retryAfterSeconds() const {
    const std::string value = header("retry-after");
    if (value.empty() || value.size() > 12 ||
        value.find_first_not_of("0123456789") != std::string::npos)
        return -1;
    return std::stoll(value);
}

Poco::JSON::Object::Ptr HttpResult::json() const {
    Poco::JSON::Parser parser;
    const Poco::Dynamic::Var parsed = parser.parse(body);
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
        throw std::runtime_error("response body is not a JSON object: " + body);
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

std::string HttpResult::jsonString(const std::string& field) const {
    const auto object = json();
    return object->has(field) ? object->getValue<std::string>(field) : "";
}

HttpResult sendToService(const std::string& baseUrl, const HttpRequest& request) {
    const Poco::URI base(baseUrl);
    Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest httpRequest(request.method, request.path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
    if (!request.contentType.empty()) httpRequest.setContentType(request.contentType);
    for (const auto& [name, value] : request.headers) httpRequest.set(name, value);
    if (!request.body.empty() || request.method == "POST")
        httpRequest.setContentLength(static_cast<std::streamsize>(request.body.size()));
    session.sendRequest(httpRequest) << request.body;

    Poco::Net::HTTPResponse httpResponse;
    std::istream& in = session.receiveResponse(httpResponse);
    HttpResult result;
    result.status = static_cast<int>(httpResponse.getStatus());
    for (const auto& [name, value] : httpResponse) result.headers[lower(name)] = value;
    Poco::StreamCopier::copyToString(in, result.body);
    return result;
}

HttpResult send(const std::string& baseUrl, const HttpRequest& request) {
    HttpResult result = sendToService(baseUrl, request);
    holdToDocument(request.method, request.path, result);
    return result;
}

void holdToDocument(const std::string& method, const std::string& path, const HttpResult& answer) {
    const auto violations = OpenApiDocument::ofProject().violations(
        {method, path, answer.status, answer.header("Content-Type"), answer.body,
         answer.header("Retry-After"), answer.header("X-Request-Id")});
    for (const auto& violation : violations)
        FAIL_CHECK("the answer differs from deploy/api/openapi.json: " << violation);
}

HttpResult get(const std::string& path) {
    return send(baseUrl(), {"GET", path, "", "", {}});
}

HttpResult postJson(const std::string& path, const std::string& body) {
    return send(baseUrl(), {"POST", path, body, "application/json", {}});
}

}  // namespace dnsh::test
