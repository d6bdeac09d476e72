#include "http/response.hpp"

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <sstream>
#include <string_view>

namespace dnsh {

Response jsonResponse(int status, const Poco::JSON::Object::Ptr& body) {
    std::ostringstream text;
    body->stringify(text);
    return Response{status, text.str(), {}};
}

Response jsonResponse(int status, std::string json) {
    return Response{status, std::move(json), {}};
}

Response errorResponse(ErrorCode code, const std::string& message, const std::string& errorCode) {
    // Messages may quote client input: keep them printable ASCII so the body is always valid
    // JSON (RFC 8259 §8.1), whatever bytes the client sent.
    std::string printable = message;
    for (char& c : printable)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("error", printable);
    if (!errorCode.empty()) body->set("error_code", errorCode);
    Response response = jsonResponse(httpStatus(code), body);
    // RFC 9110 §10.2.3: a 503 says when to come back. The database answers again after a
    // failover or once the lock holder is done: seconds, not minutes.
    if (response.status == 503) response.headers.emplace_back("Retry-After", "2");
    return response;
}

Response errorResponse(const Error& error) {
    Response response = errorResponse(error.code(), error.what(), error.errorCode());
    if (!error.detailKey().empty()) {
        // The detail is this service's own JSON; one that does not parse is left out.
        try {
            Poco::JSON::Object::Ptr body =
                Poco::JSON::Parser().parse(response.body).extract<Poco::JSON::Object::Ptr>();
            body->set(error.detailKey(), Poco::JSON::Parser().parse(error.detailJson()));
            std::ostringstream text;
            body->stringify(text);
            response.body = text.str();
        } catch (const Poco::Exception&) {
        }
    }
    if (const auto delay = error.retryAfter()) {
        // The error's own delay wins over the 503 default. At least 1 s, the one place every
        // Retry-After of an error is written (openapi.json components.headers.Retry-After):
        // "Retry-After: 0" (a CA's 0, or its HTTP-date in the past) invites a client to ask again
        // at once, in a loop, and a negative one is not delay-seconds at all (RFC 9110 §10.2.3).
        std::erase_if(response.headers,
                      [](const auto& header) { return header.first == "Retry-After"; });
        const long long seconds = std::max<long long>(delay->count(), 1);
        response.headers.emplace_back("Retry-After", std::to_string(seconds));
    }
    return response;
}

int httpStatus(ErrorCode code) {
    switch (code) {
        case ErrorCode::BadRequest:
            return 400;
        case ErrorCode::Unauthorized:
            return 401;
        case ErrorCode::NotFound:
            return 404;
        case ErrorCode::MethodNotAllowed:
            return 405;
        case ErrorCode::Conflict:
            return 409;
        case ErrorCode::PayloadTooLarge:
            return 413;
        case ErrorCode::UnsupportedMediaType:
            return 415;
        case ErrorCode::UnprocessableContent:
            return 422;
        case ErrorCode::FailedDependency:
            return 424;
        case ErrorCode::TooManyRequests:
            return 429;
        case ErrorCode::BadGateway:
            return 502;
        case ErrorCode::DatabaseUnavailable:
        case ErrorCode::DatabaseTimeout:
            return 503;
        case ErrorCode::Internal:
            return 500;
    }
    return 500;
}

std::string reasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 409:
            return "Conflict";
        case 413:
            return "Payload Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Content";  // RFC 9110 §15.5.21
        case 424:
            return "Failed Dependency";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

std::string serializeCgiResponse(const Response& response, const std::string& requestId) {
    const std::string reason = reasonPhrase(response.status);
    const std::string_view body = response.withoutBody ? std::string_view() : response.body;
    // Sized once and appended in place: built with operator+ it was seven allocations and the
    // body copied again as the text grew, in every answer (callgrind, GET /domains/{id}).
    std::size_t size = 128 + reason.size() + response.contentType.size() + requestId.size() +
                       body.size();
    for (const auto& [name, value] : response.headers) size += name.size() + value.size() + 4;
    std::string text;
    text.reserve(size);
    text.append("Status: ").append(std::to_string(response.status)).append(" ").append(reason);
    text.append("\r\nContent-Type: ").append(response.contentType);
    text.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
    text.append("\r\nCache-Control: no-store\r\nX-Request-Id: ").append(requestId);
    text.append("\r\n");
    for (const auto& [name, value] : response.headers)
        text.append(name).append(": ").append(value).append("\r\n");
    text.append("\r\n").append(body);
    return text;
}

}  // namespace dnsh
