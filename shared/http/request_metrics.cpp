#include "http/request_metrics.hpp"

#include <array>
#include <map>
#include <string_view>

#include "core/metric_registry.hpp"
#include "http/request.hpp"
#include "http/routes.hpp"

namespace dnsh {

namespace {

std::string methodLabel(const std::string& method) {
    static const std::array<std::string_view, 7> known{"GET",   "POST", "PUT",    "DELETE",
                                                       "PATCH", "HEAD", "OPTIONS"};
    for (auto name : known)
        if (method == name) return method;
    return "other";  // whatever a client sends stays one series
}

}  // namespace

std::string routeLabel(const std::string& path) {
    std::map<std::string, std::string> ignored;
    for (const auto& route : routeTable())
        if (matchRoute(route.pattern, path, ignored)) return route.pattern;
    return "unmatched";
}

void recordHttpRequest(const std::string& method, const std::string& route, int status,
                       double seconds) {
    const std::string methodName = methodLabel(method);
    countEvent("dnsh_http_requests_total",
               {{"route", route}, {"method", methodName}, {"status", std::to_string(status)}});
    observeSeconds("dnsh_http_request_duration_seconds", {{"route", route}, {"method", methodName}},
                   seconds);
}

}  // namespace dnsh
