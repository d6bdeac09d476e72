#include "config/edge_config.hpp"

#include <grp.h>
#include <unistd.h>

#include "config/config_variables.hpp"
#include "config/duration.hpp"

namespace dnsh {

namespace {

std::string valueOf(const EnvironmentLookup& lookup, const std::string& name) {
    const auto value = lookup(name);
    return value ? *value : "";
}

std::chrono::milliseconds durationOf(const EnvironmentLookup& lookup, const std::string& name,
                                     std::chrono::milliseconds fallback) {
    const std::string value = valueOf(lookup, name);
    if (value.empty()) return fallback;
    try {
        return parseDuration(value);
    } catch (const std::invalid_argument& e) {
        throw ConfigError("invalid " + name + "=\"" + value + "\": " + e.what());
    }
}

}  // namespace

EdgeSettings loadEdgeSettings(const EnvironmentLookup& lookup) {
    EdgeSettings settings;
    settings.dir = valueOf(lookup, "EDGE_DIR");
    if (settings.dir.empty()) throw ConfigError("EDGE_DIR is not set (where certificates go)");
    if (settings.dir.front() != '/')
        throw ConfigError("invalid EDGE_DIR=\"" + settings.dir + "\": expected an absolute path");
    while (settings.dir.size() > 1 && settings.dir.back() == '/') settings.dir.pop_back();
    settings.haproxySocket = valueOf(lookup, "EDGE_HAPROXY_SOCKET");
    if (!settings.haproxySocket.empty() && settings.haproxySocket.front() != '/')
        throw ConfigError("invalid EDGE_HAPROXY_SOCKET=\"" + settings.haproxySocket +
                          "\": expected the absolute path of HAProxy's admin socket");
    settings.reloadCommand = valueOf(lookup, "EDGE_RELOAD_COMMAND");
    if (const std::string on = valueOf(lookup, "EDGE_RELOAD_ON"); !on.empty()) {
        if (on != "map" && on != "any")
            throw ConfigError("invalid EDGE_RELOAD_ON=\"" + on + "\": expected map or any");
        settings.reloadOn = on == "any" ? EdgeReloadOn::Any : EdgeReloadOn::Map;
    }
    settings.reloadMinInterval =
        durationOf(lookup, "EDGE_RELOAD_MIN_INTERVAL", settings.reloadMinInterval);
    settings.reloadTimeout = durationOf(lookup, "EDGE_RELOAD_TIMEOUT", settings.reloadTimeout);
    if (const std::string group = valueOf(lookup, "EDGE_GROUP"); !group.empty()) {
        const ::group* entry = ::getgrnam(group.c_str());
        if (!entry) throw ConfigError("invalid EDGE_GROUP=\"" + group + "\": no such group");
        settings.group = entry->gr_gid;
    }
    settings.reconcileInterval =
        durationOf(lookup, "EDGE_RECONCILE_INTERVAL", settings.reconcileInterval);
    settings.pollInterval = durationOf(lookup, "EDGE_POLL_INTERVAL", settings.pollInterval);
    if (const std::string listen = valueOf(lookup, "EDGE_LISTEN"); !listen.empty()) {
        if (listen != "on" && listen != "off")
            throw ConfigError("invalid EDGE_LISTEN=\"" + listen + "\": expected on or off");
        settings.listen = listen == "on";
    }
    settings.agentName = valueOf(lookup, "EDGE_AGENT_NAME");
    if (settings.agentName.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        settings.agentName = std::string(host) + ":" + settings.dir;
    }
    return settings;
}

EdgeDatabaseSettings loadEdgeDatabaseSettings(const EnvironmentLookup& lookup) {
    EdgeDatabaseSettings settings;
    settings.databaseUrl = valueOf(lookup, "DATABASE_URL");
    if (settings.databaseUrl.empty()) throw ConfigError("DATABASE_URL is not set");
    // Refused here, exit 78: at connect it counted as an outage, retried for ever. A value with
    // a space is left alone, unlike loadConfig's check: libpq reads it whole here.
    config_variables::checkDatabaseUrlParses(settings.databaseUrl);
    settings.keyEncryptionKeyFile = valueOf(lookup, "KEY_ENCRYPTION_KEY_FILE");
    if (settings.keyEncryptionKeyFile.empty())
        throw ConfigError("KEY_ENCRYPTION_KEY_FILE is not set (it opens the keys)");
    settings.databaseLimits = config_variables::databaseLimitsVariables(lookup);
    settings.logLevel = config_variables::logLevelVariable(lookup, settings.logLevel);
    return settings;
}

}  // namespace dnsh
