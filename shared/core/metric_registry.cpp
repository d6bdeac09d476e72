#include "core/metric_registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace dnsh {

namespace {

// One histogram series between flushes: a count per bucket (not cumulative: an observation is
// one increment), made cumulative when taken.
struct HistogramSeries {
    std::vector<double> perBucket;  // durationBuckets(), then +Inf
    double sum = 0;
    double count = 0;
};

struct PendingCounters {
    std::mutex mutex;
    std::map<std::pair<std::string, std::string>, double> deltas;  // ordered: one lock order
    std::map<std::pair<std::string, std::string>, HistogramSeries> histograms;
    std::size_t events = 0;
};

PendingCounters& pending() {
    static PendingCounters counters;  // per process; the table is what is shared
    return counters;
}

void add(std::string name, std::string labels, double amount, std::size_t events) {
    auto& counters = pending();
    const std::lock_guard<std::mutex> lock(counters.mutex);
    counters.deltas[{std::move(name), std::move(labels)}] += amount;
    counters.events += events;
}

}  // namespace

std::string formatLabels(const MetricLabels& labels) {
    std::string text;
    for (const auto& [name, value] : labels) {
        if (!text.empty()) text += ',';
        text += name + "=\"";
        for (char c : value) {
            if (c == '\\' || c == '"') text += '\\';
            if (c == '\n') {
                text += "\\n";
                continue;
            }
            text += c;
        }
        text += '"';
    }
    return text;
}

std::string formatMetricNumber(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    // Counts print as integers (800000, not 8e+05).
    if (value == std::floor(value) && std::fabs(value) < 9.0e15)
        return std::to_string(static_cast<long long>(value));
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

const std::vector<double>& durationBuckets() {
    static const std::vector<double> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                            1,     2.5,  5,     10,   30,  60};
    return bounds;
}

void countEvent(std::string_view name, const MetricLabels& labels, double amount) {
    countEventFormatted(name, formatLabels(labels), amount);
}

void countEventFormatted(std::string_view name, std::string labelText, double amount) {
    add(std::string(name), std::move(labelText), amount, 1);
}

void observeSeconds(std::string_view name, const MetricLabels& labels, double seconds) {
    observeSecondsFormatted(name, formatLabels(labels), seconds);
}

void observeSecondsFormatted(std::string_view name, std::string labelText, double seconds) {
    const std::vector<double>& bounds = durationBuckets();
    // The first bucket whose bound is >= seconds; bounds.size() is +Inf.
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    std::pair<std::string, std::string> key{std::string(name), std::move(labelText)};
    auto& counters = pending();
    const std::lock_guard<std::mutex> lock(counters.mutex);
    HistogramSeries& series = counters.histograms[std::move(key)];
    if (series.perBucket.empty()) series.perBucket.assign(bounds.size() + 1, 0);
    series.perBucket[bucket] += 1;
    series.sum += seconds;
    series.count += 1;
    ++counters.events;
}

std::vector<CounterDelta> takeCounterDeltas() {
    auto& counters = pending();
    std::map<std::pair<std::string, std::string>, double> taken;
    std::map<std::pair<std::string, std::string>, HistogramSeries> histograms;
    {
        const std::lock_guard<std::mutex> lock(counters.mutex);
        taken.swap(counters.deltas);
        histograms.swap(counters.histograms);
        counters.events = 0;
    }
    // Cumulative buckets (each counts the observations <= its bound), as the format wants; a
    // bucket below every observation is left out (its delta is 0).
    const std::vector<double>& bounds = durationBuckets();
    for (const auto& [key, series] : histograms) {
        const auto& [base, labelText] = key;
        const std::string prefix = labelText.empty() ? "" : labelText + ",";
        double running = 0;
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
            running += series.perBucket[i];
            if (running == 0) continue;
            const std::string bound =
                i == bounds.size() ? "+Inf" : formatMetricNumber(bounds[i]);
            taken[{base + "_bucket", prefix + "le=\"" + bound + "\""}] += running;
        }
        taken[{base + "_sum", labelText}] += series.sum;
        taken[{base + "_count", labelText}] += series.count;
    }
    std::vector<CounterDelta> deltas;
    deltas.reserve(taken.size());
    for (auto& [key, value] : taken) deltas.push_back({key.first, key.second, value});
    return deltas;
}

void restoreCounterDeltas(const std::vector<CounterDelta>& deltas) {
    for (const auto& delta : deltas) add(delta.name, delta.labels, delta.value, 0);
}

std::size_t pendingCounterEvents() {
    auto& counters = pending();
    const std::lock_guard<std::mutex> lock(counters.mutex);
    return counters.events;
}

}  // namespace dnsh
