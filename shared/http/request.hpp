#pragma once
#include <map>
#include <optional>
#include <string>

namespace dnsh {

struct Request {
    std::string method;
    std::string path;         // without the query string
    std::string contentType;  // as sent, may be empty
    // QUERY_STRING, raw. Only an endpoint that takes parameters parses it (parseQueryString, in
    // its handler): the others, the probes and /metrics among them, ignore any query, so a probe
    // URL that carries one never gets a 400 the OpenAPI document does not declare for them.
    std::string queryString;
    std::string authorization;
    std::string requestId;  // ours: the client's when sane, else fresh
    // The Idempotency-Key field as sent, "" for none (http/idempotency_key.hpp parses it).
    std::string idempotencyKey;
    std::optional<long long> contentLength;
    std::string body;
    std::map<std::string, std::string> params;  // from the route pattern, e.g. {id}
    std::string route;                          // that pattern ("/domains/{id}"), once matched

    const std::string& param(const std::string& name) const;
};

// "a=1&b=x%20y" -> {a: 1, b: "x y"}; pieces without '=' map to "". Throws Error(BadRequest) on
// a malformed percent-encoding and on a name given more than once ("a=1&a=2", "a&a", "a=1&%61=2":
// names compared decoded), naming it (its first 40 bytes).
std::map<std::string, std::string> parseQueryString(const std::string& text);

// Matches "/domains/{id}/verify" against a path, filling `params`. Segments in braces match one
// non-empty segment.
bool matchRoute(const std::string& pattern, const std::string& path,
                std::map<std::string, std::string>& params);

// The client's X-Request-Id when it is sane (1-128 chars of [A-Za-z0-9._:-]), else a fresh one.
std::string chooseRequestId(const std::string& fromClient);

// 32 hex digits, unique across processes and requests.
std::string newRequestId();

// "application/json" with optional parameters such as "; charset=utf-8", case-insensitive.
bool isJsonContentType(const std::string& contentType);

}  // namespace dnsh
