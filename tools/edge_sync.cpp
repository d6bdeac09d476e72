// dnsh-edge-sync: the edge agent (README, "Certificates on the TLS terminators"). On each host
// that terminates TLS it keeps EDGE_DIR holding the newest certificate of every live domain and
// tells a running HAProxy through its runtime API, with no reload.
//   dnsh-edge-sync           follow changes until SIGTERM
//   dnsh-edge-sync --once    one full reconcile (a timer or cron job), exit 1 if anything failed
#include <signal.h>

#include <atomic>
#include <cstring>
#include <iostream>

#include "config/config.hpp"
#include "config/edge_config.hpp"
#include "core/process_hardening.hpp"
#include "edge/edge_agent.hpp"
#include "log/log.hpp"

namespace {

std::atomic<bool> stopRequested{false};

void requestStop(int) {
    stopRequested = true;
}

}  // namespace

int main(int argc, char** argv) {
    bool once = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::cout << "usage: dnsh-edge-sync [--once]\n"
                         "Keeps EDGE_DIR (and HAProxy through EDGE_HAPROXY_SOCKET) serving the\n"
                         "newest certificate of every domain. Settings from the environment:\n"
                         "DATABASE_URL, KEY_ENCRYPTION_KEY_FILE, EDGE_DIR, EDGE_HAPROXY_SOCKET,\n"
                         "EDGE_RELOAD_COMMAND, EDGE_RELOAD_ON, EDGE_RELOAD_MIN_INTERVAL,\n"
                         "EDGE_RELOAD_TIMEOUT, EDGE_GROUP, EDGE_RECONCILE_INTERVAL,\n"
                         "EDGE_POLL_INTERVAL, EDGE_LISTEN, EDGE_AGENT_NAME, DB_KEEPALIVE_*,\n"
                         "PGCONNECT_TIMEOUT, LOG_LEVEL (README).\n";
            return 0;
        } else {
            std::cerr << "dnsh-edge-sync: unknown argument " << argv[i] << " (try --help)\n";
            return 64;
        }
    }
    // It holds decrypted keys in memory: no core file of it, and nobody else may ptrace it.
    try {
        dnsh::disableCoreDumps();
    } catch (const std::exception& e) {
        std::cerr << "dnsh-edge-sync: " << e.what() << "\n";
        return 1;
    }
    dnsh::EdgeSettings settings;
    dnsh::EdgeAgentOptions options;
    try {
        // Only what the agent uses, not loadConfig: a CA setting meant for the scheduler hosts
        // (ACME_CAS_FILE, whose file holds EAB keys) must not stop it on a TLS host.
        const dnsh::EdgeDatabaseSettings database = dnsh::loadEdgeDatabaseSettings();
        dnsh::setLogLevel(database.logLevel);
        settings = dnsh::loadEdgeSettings();
        options = {database.databaseUrl, database.databaseLimits, database.keyEncryptionKeyFile,
                   once};
        // Read once above; EDGE_RELOAD_COMMAND runs with this environment, and the one file
        // /etc/dns-handling/env of every host holds the scheduler's keys (README "Secrets").
        dnsh::unsetSecretVariables();
    } catch (const dnsh::ConfigError& e) {
        std::cerr << "dnsh-edge-sync: configuration error: " << e.what() << "\n";
        return 78;  // EX_CONFIG
    }
    struct sigaction action {};
    action.sa_handler = requestStop;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    try {
        return dnsh::runEdgeAgent(settings, options, stopRequested);
    } catch (const dnsh::ConfigError& e) {
        // The KEK file missing or open to others: systemd does not restart for it (78).
        std::cerr << "dnsh-edge-sync: configuration error: " << e.what() << "\n";
        return 78;  // EX_CONFIG
    } catch (const std::exception& e) {
        dnsh::logEvent(dnsh::LogLevel::Error, "edge agent cannot run",
                       {{"detail", dnsh::errorDetail(e)}});
        std::cerr << "dnsh-edge-sync: " << e.what() << "\n";
        return 1;
    }
}
