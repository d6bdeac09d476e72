#pragma once
// GET /metrics: the Prometheus text exposition format 0.0.4. State gauges come from PostgreSQL
// (so every handler process and replica agree) through a fixed set of small queries: row counts
// the triggers of 007_metrics.sql keep, range scans over partial indexes of the newest
// certificates, and the due renewals by their index;
// counters and histograms are the totals of metric_counters (metrics/counter_store.hpp).
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

#include "metrics/counter_exposition.hpp"  // renderCounterFamilies: the counters' part

namespace dnsh {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// `caDirectories`: the directory URLs of the configured CAs (configuredCas), whose
// dnsh_orders_total and dnsh_certificates_issued_total series are exposed at 0 before their
// first order.
std::string renderMetrics(Poco::Data::Session& session,
                          const std::vector<std::string>& caDirectories);

}  // namespace dnsh
