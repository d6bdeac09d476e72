#pragma once
// dnsh-edge-sync's loop: a full reconcile at start and every EDGE_RECONCILE_INTERVAL; in
// between, the domains PostgreSQL notifies (LISTEN dnsh_edge) within moments, and the cursor's
// poll of edge_events every EDGE_POLL_INTERVAL as the safety net. PostgreSQL or HAProxy down:
// the files stay as they are, the agent retries with backoff and catches up by itself.
#include <atomic>
#include <string>

#include "config/config.hpp"
#include "config/edge_config.hpp"

namespace dnsh {

struct EdgeAgentOptions {
    std::string databaseUrl;
    DatabaseLimits databaseLimits;  // its connection's keepalives (DB_KEEPALIVE_*)
    std::string keyEncryptionKeyFile;
    bool once = false;  // --once: one full reconcile, then exit
};

// Runs until `stop` is set (SIGTERM), or one round with `once`. Returns the exit status: 0, or 1
// when --once left something not applied. Throws std::runtime_error when it cannot start (the
// directory refused or locked by another agent, the KEK unreadable).
int runEdgeAgent(const EdgeSettings& settings, const EdgeAgentOptions& options,
                 const std::atomic<bool>& stop);

}  // namespace dnsh
