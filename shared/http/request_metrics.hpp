#pragma once
// The HTTP counters, counted by http/serve.cpp where each request is answered. Labels stay in a
// small fixed set, whatever the input (README "Metrics").
#include <string>

namespace dnsh {

// dnsh_http_requests_total{route,method,status}, dnsh_http_request_duration_seconds{route,method}.
// `route` is the route table's pattern ("/domains/{id}"), "unmatched" for any other path
// (routeLabel below).
void recordHttpRequest(const std::string& method, const std::string& route, int status,
                       double seconds);

// The route label of a path, exposed for the tests.
std::string routeLabel(const std::string& path);

}  // namespace dnsh
