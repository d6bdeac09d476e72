#pragma once
// GET /metrics: the Prometheus text exposition format 0.0.4. State gauges come from PostgreSQL
// (so every handler process and replica agree) through a fixed set of small queries: row counts
// the triggers of 007_metrics.sql keep, range scans over partial indexes of the newest
// certificates, and the due renewals by their index;
// counters and histograms are the totals of metric_counters (metrics/counter_store.hpp).
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

#include "core/metric_registry.hpp"

namespace dnsh {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string renderMetrics(Poco::Data::Session& session);

// One family's samples rendered under its HELP and TYPE lines (histogram rows sorted by bucket),
// from stored counter rows; exposed for the unit tests.
std::string renderCounterFamilies(const std::vector<CounterDelta>& rows);

}  // namespace dnsh
