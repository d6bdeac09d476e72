#pragma once
#include <Poco/JSON/Object.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace dnsh {

struct Response {
    int status = 200;
    std::string body;  // JSON, except where contentType says otherwise (/metrics)
    std::vector<std::pair<std::string, std::string>> headers;
    std::string contentType = "application/json";
    // HEAD (RFC 9110 §9.3.2): the GET answer's status and headers, Content-Length included, and
    // no body. Set by dispatch() for every HEAD request, whatever answered it.
    bool withoutBody = false;
};

Response jsonResponse(int status, const Poco::JSON::Object::Ptr& body);
// `json`: text that already is one JSON value.
Response jsonResponse(int status, std::string json);

// {"error": message} with the status that `code` maps to.
Response errorResponse(ErrorCode code, const std::string& message,
                       const std::string& errorCode = "");

// The answer to an Error: its status, message, error_code and, for TooManyRequests, Retry-After.
Response errorResponse(const Error& error);

// The one table from error codes to HTTP statuses.
int httpStatus(ErrorCode code);

std::string reasonPhrase(int status);

// "Status: ...\r\nContent-Type: ...\r\n...\r\n\r\nbody": the CGI/FastCGI response text.
std::string serializeCgiResponse(const Response& response, const std::string& requestId);

}  // namespace dnsh
