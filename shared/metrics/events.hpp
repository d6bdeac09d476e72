#pragma once
// The service's counters and histograms, one call at the place of each event. Each keeps its
// labels in a small fixed set, whatever the input (DESIGN.md "Observability").
#include <chrono>
#include <string>
#include <string_view>

#include "acme/problem.hpp"
#include "dns/resolver.hpp"
#include "issuance/order_step.hpp"

namespace dnsh {

// dnsh_http_requests_total{route,method,status}, dnsh_http_request_duration_seconds{route,method}.
// `route` is the route table's pattern ("/domains/{id}"), "unmatched" for any other path
// (routeLabel below).
void recordHttpRequest(const std::string& method, const std::string& route, int status,
                       double seconds);

// dnsh_orders_total{kind="issuance|renewal",outcome="valid|failed"}: an order that finished.
void countOrderFinished(OrderKind kind, bool valid);

// dnsh_order_step_duration_seconds{step}: one scheduler step of an order.
void observeOrderStep(OrderStep step, std::chrono::steady_clock::time_point started);

// dnsh_acme_errors_total{type}: the problem type's URN suffix (RFC 8555 §6.7) when it is one of
// the RFC's, "unreachable" when the CA was not reached, else "other".
void countAcmeError(const acme::Problem& problem);

// dnsh_dns_lookups_total{result}: found, no_records, nxdomain, servfail, timeout, error.
void countDnsLookup(LookupOutcome outcome);

// The label values above, exposed for the exposition's zero rows and the tests.
std::string routeLabel(const std::string& path);
std::string acmeErrorTypeLabel(const acme::Problem& problem);
std::string_view dnsResultLabel(LookupOutcome outcome);

}  // namespace dnsh
