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
    // A handler process answers one route, nearly always with the same method and status: the
    // label texts are formatted when one of the three changes, not at every request.
    struct Series {
        std::string method;
        std::string route;
        int status = -1;
        std::string counted;  // route, method, status
        std::string timed;    // route, method
    };
    thread_local Series last;
    if (status != last.status || route != last.route || method != last.method) {
        const std::string methodName = methodLabel(method);
        last = Series{method, route, status,
                      formatLabels({{"route", route},
                                    {"method", methodName},
                                    {"status", std::to_string(status)}}),
                      formatLabels({{"route", route}, {"method", methodName}})};
    }
    countEventFormatted("dnsh_http_requests_total", last.counted);
    observeSecondsFormatted("dnsh_http_request_duration_seconds", last.timed, seconds);
}

}  // namespace dnsh
