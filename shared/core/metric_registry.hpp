#pragma once
// Counters of this process (README "Metrics"): events are added up in memory and handed
// to the flusher (metrics/flusher.hpp), which adds them to the metric_counters table that every
// handler process and scheduler replica shares; /metrics reads the sums back. Adding a counter is
// one line at the place of the event:
//   countEvent("dnsh_webhook_deliveries_total", {{"outcome", "delivered"}});
// Label values must come from small fixed sets (never ids, names or raw paths).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsh {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

void countEvent(std::string_view name, const MetricLabels& labels = {}, double amount = 1);

// A histogram as bucket counters: <name>_bucket{...,le} (cumulative), <name>_sum, <name>_count.
void observeSeconds(std::string_view name, const MetricLabels& labels, double seconds);

// The same two with the labels already formatted (formatLabels below), for a caller that counts
// one series over and over and keeps its text (the HTTP counters, once per request).
void countEventFormatted(std::string_view name, std::string labelText, double amount = 1);
void observeSecondsFormatted(std::string_view name, std::string labelText, double seconds);

// The bucket bounds (seconds) of every duration histogram: 5 ms .. 60 s.
const std::vector<double>& durationBuckets();

// One counter row's increase since the last flush. `labels` is the exposition's own text
// (`route="/domains",method="GET"`), so storing and rendering need no parsing.
struct CounterDelta {
    std::string name;
    std::string labels;
    double value = 0;
};

// The increases since the last take, sorted by (name, labels), and forgotten here.
std::vector<CounterDelta> takeCounterDeltas();
// Puts back deltas a flush could not store (they go with the next one).
void restoreCounterDeltas(const std::vector<CounterDelta>& deltas);
// Events recorded since the last take (a flush is due early once there are many).
std::size_t pendingCounterEvents();

// `a="x",b="y"` with Prometheus escaping (backslash, double quote, newline).
std::string formatLabels(const MetricLabels& labels);
// A sample value or bucket bound: shortest exact form, "+Inf" for infinity.
std::string formatMetricNumber(double value);

}  // namespace dnsh
