#pragma once
// EDGE_* settings of the edge agent, dnsh-edge-sync (README, "Certificates on the TLS
// terminators"). A missing or bad value stops it at start with a message naming the variable.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace dnsh {

// Which changes run EDGE_RELOAD_COMMAND: Map, nginx's wildcard map only (nginx reads the .pem
// files at each handshake, HAProxy is told through its runtime API); Any, every file written or
// removed, for a terminator that reads its files only when it starts or reloads.
enum class EdgeReloadOn { Map, Any };

struct EdgeSettings {
    std::string dir;             // EDGE_DIR (required): where the files go
    std::string haproxySocket;   // EDGE_HAPROXY_SOCKET: HAProxy's admin socket; empty: none
    std::string reloadCommand;   // EDGE_RELOAD_COMMAND: after a change (reloadOn)
    // EDGE_RELOAD_ON: any unless set; map for nginx. Any is what every terminator is safe with
    // (and what the agent did before there was a choice).
    EdgeReloadOn reloadOn = EdgeReloadOn::Any;
    std::chrono::milliseconds reloadMinInterval{10'000};  // EDGE_RELOAD_MIN_INTERVAL
    std::chrono::milliseconds reloadTimeout{60'000};      // EDGE_RELOAD_TIMEOUT: then killed
    std::optional<gid_t> group;  // EDGE_GROUP: key files 0640 for this group instead of 0600
    std::chrono::milliseconds reconcileInterval{3'600'000};  // EDGE_RECONCILE_INTERVAL
    std::chrono::milliseconds pollInterval{30'000};          // EDGE_POLL_INTERVAL
    bool listen = true;     // EDGE_LISTEN: off behind a pooler in transaction mode
    std::string agentName;  // EDGE_AGENT_NAME: the heartbeat's name; default <host>:<EDGE_DIR>
};

// Throws ConfigError naming the variable.
EdgeSettings loadEdgeSettings(const EnvironmentLookup& lookup = processEnvironment);

// The settings the agent shares with the other programs, and all it reads of theirs: not
// loadConfig, as the env file every host shares also holds the API's and the scheduler's (CA,
// DNS, webhook), which are not the agent's to refuse: ACME_CAS_FILE names a file with EAB keys
// that a TLS host should not hold.
struct EdgeDatabaseSettings {
    std::string databaseUrl;  // DATABASE_URL (required)
    DatabaseLimits databaseLimits;
    std::string keyEncryptionKeyFile;  // KEY_ENCRYPTION_KEY_FILE (required)
    LogLevel logLevel = LogLevel::Info;
};

// DATABASE_URL, KEY_ENCRYPTION_KEY_FILE, the DB_* settings and LOG_LEVEL, each checked as
// loadConfig checks it. Throws ConfigError naming the variable.
EdgeDatabaseSettings loadEdgeDatabaseSettings(
    const EnvironmentLookup& lookup = processEnvironment);

}  // namespace dnsh
