#pragma once
// GET /metrics: the Prometheus text exposition format 0.0.4. State gauges come from PostgreSQL
// (so every handler process and replica agree) through a fixed set of small queries: row counts
// the triggers of 007_metrics.sql keep, range scans over partial indexes of the newest
// certificates, the due renewals by their index, and the service's commits waiting for a
// synchronous standby (pg_stat_activity, shared memory);
// counters and histograms are the totals of metric_counters (metrics/counter_store.hpp).
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

#include "metrics/counter_exposition.hpp"  // renderCounterFamilies: the counters' part

namespace dnsh {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Whether the process rendering the scrape has webhooks on (WEBHOOK_URL set, as lighttpd passes
// it to the metrics handler).
enum class Webhooks { On, Off };

// `caDirectories`: the directory URLs of the configured CAs (configuredCas), whose
// dnsh_orders_total and dnsh_certificates_issued_total series are exposed at 0 before their
// first order. `webhooks` Off: the webhook backlog gauges read 0 unless a live scheduler replica
// has webhooks on (README "Webhooks").
std::string renderMetrics(Poco::Data::Session& session,
                          const std::vector<std::string>& caDirectories, Webhooks webhooks);

}  // namespace dnsh
