#include "metrics/counter_exposition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "dns/lookup_outcome.hpp"
#include "metrics/exposition_lines.hpp"

namespace dnsh {

namespace {

using exposition_lines::header;
using exposition_lines::sample;

struct Family {
    std::string_view name, type, help;
};

// Counters and histograms kept in metric_counters. A name missing here is still exposed (as an
// untyped counter); a line here gives it its HELP.
constexpr Family kCounterFamilies[]{
    {"dnsh_http_requests_total", "counter",
     "HTTP requests answered by the handlers, by route pattern, method and status."},
    {"dnsh_http_request_duration_seconds", "histogram",
     "Time a handler took to answer, by route pattern and method."},
    {"dnsh_orders_total", "counter",
     "ACME orders that finished, by kind (issuance, renewal), outcome (valid, failed) and the CA "
     "they were placed at (ca: its directory URL; none when never placed)."},
    {"dnsh_certificates_issued_total", "counter",
     "Certificates issued, by kind (issuance, renewal) and the CA that issued them (ca: its "
     "directory URL)."},
    {"dnsh_order_step_duration_seconds", "histogram",
     "Time one scheduler step of an order took, by the step the order was in."},
    {"dnsh_acme_errors_total", "counter",
     "Errors from the ACME CA by RFC 8555 problem type (URN suffix); unreachable: not reached; "
     "other: a type outside the RFC's list."},
    {"dnsh_dns_lookups_total", "counter",
     "DNS lookups (TXT, CNAME, SOA, NS, A/AAAA of the precheck) by result."},
    {"dnsh_webhook_deliveries_total", "counter",
     "Webhook delivery attempts by outcome (delivered; failed: to be retried; dead: out of "
     "retries)."},
};

const Family* counterFamily(std::string_view name) {
    for (const auto& family : kCounterFamilies)
        if (family.name == name) return &family;
    return nullptr;
}

// "x_bucket" -> "x" when x is a histogram; the name itself otherwise.
std::string familyOf(const std::string& name) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string base = name.substr(0, name.size() - suffix.size());
        const Family* family = counterFamily(base);
        if (family && family->type == "histogram") return base;
    }
    return name;
}

// Splits `a="x",le="0.5"` into the labels before le and the bound.
std::pair<std::string, double> splitBucket(const std::string& labels) {
    const std::size_t at = labels.rfind("le=\"");
    const std::string bound = labels.substr(at + 4, labels.size() - at - 5);
    const double value = bound == "+Inf" ? HUGE_VAL : std::strtod(bound.c_str(), nullptr);
    return {at == 0 ? "" : labels.substr(0, at - 1), value};
}

void renderHistogram(std::string& out, const std::string& name,
                     const std::vector<const CounterDelta*>& rows) {
    struct Series {
        std::vector<std::pair<double, double>> buckets;  // bound, count
        double sum = 0, count = 0;
    };
    std::map<std::string, Series> series;
    for (const auto* row : rows) {
        if (row->name == name + "_bucket") {
            const auto [labels, bound] = splitBucket(row->labels);
            series[labels].buckets.emplace_back(bound, row->value);
        } else if (row->name == name + "_sum") {
            series[row->labels].sum = row->value;
        } else {
            series[row->labels].count = row->value;
        }
    }
    for (auto& [labels, one] : series) {
        std::sort(one.buckets.begin(), one.buckets.end());
        const std::string prefix = labels.empty() ? "" : labels + ",";
        for (const auto& [bound, count] : one.buckets)
            sample(out, name + "_bucket", prefix + "le=\"" + formatMetricNumber(bound) + "\"",
                   count);
        sample(out, name + "_sum", labels, one.sum);
        sample(out, name + "_count", labels, one.count);
    }
}

// Series that exist from the start, so rate() and alerts see 0 rather than nothing: increase()
// of a series that first appears with 1 is 0, so the first event of a series not here would be
// missed. The labels in the order the counting code gives them (issuance/order_metrics.cpp,
// events/webhook_delivery.cpp), or the zero would be a series of its own.
std::vector<CounterDelta> withZeroSeries(std::vector<CounterDelta> rows,
                                         const std::vector<std::string>& caDirectories) {
    std::set<std::pair<std::string, std::string>> present;
    for (const auto& row : rows) present.insert({row.name, row.labels});
    auto ensure = [&](const std::string& name, const MetricLabels& labels) {
        const std::string text = formatLabels(labels);
        if (present.insert({name, text}).second) rows.push_back({name, text, 0});
    };
    for (const char* kind : {"issuance", "renewal"}) {
        for (const char* outcome : {"valid", "failed"}) {
            // No ca: an order that failed before any CA took it.
            ensure("dnsh_orders_total", {{"kind", kind}, {"outcome", outcome}});
            for (const auto& ca : caDirectories)
                ensure("dnsh_orders_total", {{"kind", kind}, {"outcome", outcome}, {"ca", ca}});
        }
        for (const auto& ca : caDirectories)
            ensure("dnsh_certificates_issued_total", {{"kind", kind}, {"ca", ca}});
    }
    for (const auto& outcome : kLookupOutcomeNames.names)
        ensure("dnsh_dns_lookups_total", {{"result", std::string(outcome.second)}});
    for (const char* outcome : {"delivered", "failed", "dead"})
        ensure("dnsh_webhook_deliveries_total", {{"outcome", outcome}});
    return rows;
}

}  // namespace

std::string renderCounterFamilies(const std::vector<CounterDelta>& stored,
                                  const std::vector<std::string>& caDirectories) {
    const std::vector<CounterDelta> rows = withZeroSeries(stored, caDirectories);
    std::map<std::string, std::vector<const CounterDelta*>> families;
    for (const auto& row : rows) families[familyOf(row.name)].push_back(&row);
    std::string out;
    for (auto& [name, members] : families) {
        const Family* family = counterFamily(name);
        header(out, name, family ? family->type : "counter",
               family ? family->help : "A counter of the service.");
        if (family && family->type == "histogram") {
            renderHistogram(out, name, members);
            continue;
        }
        std::sort(members.begin(), members.end(), [](const CounterDelta* a, const CounterDelta* b) {
            return a->labels < b->labels;
        });
        for (const auto* row : members) sample(out, row->name, row->labels, row->value);
    }
    return out;
}

}  // namespace dnsh
