#pragma once
// The counters and histograms of GET /metrics: the totals of metric_counters
// (metrics/counter_store.hpp), each family under its HELP and TYPE, the known series at 0 until
// counted.
#include <string>
#include <vector>

#include "core/metric_registry.hpp"

namespace dnsh {

// One family's samples rendered under its HELP and TYPE lines (histogram rows sorted by bucket),
// from stored counter rows, with the known series not counted yet at 0; exposed for the unit
// tests.
std::string renderCounterFamilies(const std::vector<CounterDelta>& rows,
                                  const std::vector<std::string>& caDirectories);

}  // namespace dnsh
