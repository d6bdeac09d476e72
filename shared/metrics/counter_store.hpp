#pragma once
// The metric_counters table (deploy/migrations/007_metrics.sql): where every process's counts
// are summed, and where /metrics reads them.
#include <Poco/Data/Session.h>

#include <vector>

#include "core/metric_registry.hpp"

namespace dnsh {

// Adds the deltas to the stored totals in one transaction. Rows are written in (name, labels)
// order, so processes flushing at the same moment wait for each other instead of deadlocking.
void addToStoredCounters(Poco::Data::Session& session, const std::vector<CounterDelta>& deltas);

// Every stored total, ordered by name and labels.
std::vector<CounterDelta> readStoredCounters(Poco::Data::Session& session);

}  // namespace dnsh
