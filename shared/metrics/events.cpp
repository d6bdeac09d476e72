#include "metrics/events.hpp"

#include <array>
#include <map>

#include "http/request.hpp"
#include "http/routes.hpp"
#include "metrics/registry.hpp"

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

void countOrderFinished(OrderKind kind, bool valid) {
    countEvent("dnsh_orders_total", {{"kind", kind == OrderKind::Renewal ? "renewal" : "issuance"},
                                     {"outcome", valid ? "valid" : "failed"}});
}

void observeOrderStep(OrderStep step, std::chrono::steady_clock::time_point started) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    observeSeconds("dnsh_order_step_duration_seconds", {{"step", std::string(toString(step))}},
                   elapsed.count());
}

std::string acmeErrorTypeLabel(const acme::Problem& problem) {
    if (problem.status == 0) return "unreachable";
    // RFC 8555 §6.7 (and RFC 9773's alreadyReplaced): the only suffixes that become label values.
    // clang-format off
    static constexpr std::string_view known[]{
        "accountDoesNotExist", "alreadyRevoked", "badCSR", "badNonce", "badPublicKey",
        "badRevocationReason", "badSignatureAlgorithm", "caa", "compound", "connection", "dns",
        "externalAccountRequired", "incorrectResponse", "invalidContact", "malformed",
        "orderNotReady", "rateLimited", "rejectedIdentifier", "serverInternal", "tls",
        "unauthorized", "unsupportedContact", "unsupportedIdentifier", "userActionRequired",
        "alreadyReplaced"};
    // clang-format on
    constexpr std::string_view prefix = "urn:ietf:params:acme:error:";
    if (problem.type.rfind(prefix, 0) == 0) {
        const std::string_view suffix = std::string_view(problem.type).substr(prefix.size());
        for (auto name : known)
            if (suffix == name) return std::string(suffix);
    }
    return "other";
}

void countAcmeError(const acme::Problem& problem) {
    countEvent("dnsh_acme_errors_total", {{"type", acmeErrorTypeLabel(problem)}});
}

std::string_view dnsResultLabel(LookupOutcome outcome) {
    switch (outcome) {
        case LookupOutcome::Found:
            return "found";
        case LookupOutcome::NoRecords:
            return "no_records";
        case LookupOutcome::NxDomain:
            return "nxdomain";
        case LookupOutcome::ServFail:
            return "servfail";
        case LookupOutcome::Timeout:
            return "timeout";
        case LookupOutcome::Failed:
            return "error";
    }
    return "error";
}

void countDnsLookup(LookupOutcome outcome) {
    countEvent("dnsh_dns_lookups_total", {{"result", std::string(dnsResultLabel(outcome))}});
}

}  // namespace dnsh
