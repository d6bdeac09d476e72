#include "http/routes.hpp"

#include <map>

#include "http/request.hpp"

namespace dnsh {

const std::vector<Route>& routeTable() {
    static const std::vector<Route> routes{
        {"/domains", "GET", "list_domains"},
        {"/domains", "POST", "create_domain"},
        {"/domains/{id}", "GET", "get_domain"},
        {"/domains/{id}", "DELETE", "delete_domain", true},  // the account key: deactivations
        {"/domains/{id}/verify", "POST", "verify_domain"},
        {"/domains/{id}/issue-certificate", "POST", "issue_certificate", true},
        {"/domains/{id}/check", "POST", "check_domain"},
        {"/domains/{id}/certificate", "GET", "get_certificate"},
        {"/healthz", "GET", "health"},
        {"/readyz", "GET", "health"},
        {"/metrics", "GET", "metrics"},
    };
    return routes;
}

std::string allowedMethods(const std::string& path) {
    std::string allowed;
    std::map<std::string, std::string> ignored;
    for (const auto& route : routeTable()) {
        if (!matchRoute(route.pattern, path, ignored)) continue;
        if (allowed.find(route.method) != std::string::npos) continue;
        allowed += (allowed.empty() ? "" : ", ") + route.method;
        if (route.method == "GET") allowed += ", HEAD";
    }
    return allowed;
}

}  // namespace dnsh
