#pragma once
// The metric_counters table (deploy/migrations/007_metrics.sql): where every process's counts
// are summed, and where /metrics reads them.
#include <Poco/Data/Session.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/metric_registry.hpp"

namespace dnsh {

// What one flush adds: `number` counts a flusher's batches from 1, each sent only once the one
// before it is stored (032_metric_counter_batches.sql).
struct CounterBatch {
    std::string flusher;  // random, one per flusher
    std::uint64_t number = 0;
    std::vector<CounterDelta> deltas;  // sorted by (name, labels), not empty
};

// Adds the batch to the stored totals in one transaction, with its number; false (and nothing
// added) when that number is stored already: a batch sent again after its COMMIT's answer was
// lost. Lock order: the flusher's own metric_counter_batches row first (no other flusher writes
// it; the heartbeat's delete takes only rows a day old and nothing else), then metric_counters
// rows in (name, labels) order, so processes flushing at the same moment wait for each other
// instead of deadlocking.
bool addToStoredCounters(Poco::Data::Session& session, const CounterBatch& batch);

// Every stored total, ordered by name and labels.
std::vector<CounterDelta> readStoredCounters(Poco::Data::Session& session);

}  // namespace dnsh
