#pragma once
// A dns-scheduler process's name: in the leases its workers take (acme_orders.lease_owner and
// webhook_events.lease_owner, ":<worker>" after it) and in its heartbeat row
// (scheduler_heartbeats.replica, which dnsh_scheduler_replicas_alive counts).
#include <string>

namespace dnsh {

// "<host>:<pid>:<8 hex>", new at each call: host and pid tell the operator where it runs, and 4
// random bytes keep two replicas apart whose host name and pid are the same (containers on one
// host sharing its host name, each started as PID 1), so every lease guard still tells them
// apart. Called once per process start, after a --daemon fork.
std::string newReplicaName();

}  // namespace dnsh
