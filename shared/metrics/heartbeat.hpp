#pragma once
// dns-scheduler's part of /metrics: its counts flushed like a handler's, plus a heartbeat row
// (scheduler_heartbeats) written at every flush cycle (kept a day after the replica stops), from
// which dnsh_scheduler_replicas_alive and dnsh_scheduler_last_heartbeat_timestamp_seconds come,
// the fold of the domains registered since the last cycle into the kept row counts, the
// deletion of flushers' batch numbers a day old (032_metric_counter_batches.sql), and of
// delivered and dead webhook events past WEBHOOK_RETENTION (a batch of each per beat); with
// webhooks off, the events pending longer than WEBHOOK_RETRY_WINDOW given up as dead.
#include <memory>
#include <string>

#include "config/config.hpp"
#include "metrics/flusher.hpp"

namespace dnsh {

// Flushes and beats until destroyed; `replica` names this process (issuance/replica_name.hpp).
std::unique_ptr<MetricsFlusher> startSchedulerMetrics(const Config& config,
                                                      const std::string& replica);

}  // namespace dnsh
