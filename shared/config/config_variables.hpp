#pragma once
// Between loadConfig's files (config.cpp, database_limits.cpp, database_url.cpp) and the edge
// agent's (edge_config.cpp) only: reading one variable, the DB_* settings from
// database_limits.cpp, and DATABASE_URL's checks.
#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace dnsh::config_variables {

// Throws ConfigError: invalid NAME="value": why.
[[noreturn]] void reject(const std::string& name, const std::string& value,
                         const std::string& why);

// A duration as parseDuration reads it; nothing when the variable is unset or empty (for a
// default that depends on other settings).
std::optional<std::chrono::milliseconds> setDurationVariable(const EnvironmentLookup& lookup,
                                                             const std::string& name);

// A duration as parseDuration reads it; `fallback` when the variable is unset or empty.
std::chrono::milliseconds durationVariable(const EnvironmentLookup& lookup, const std::string& name,
                                           std::chrono::milliseconds fallback);

// LOG_LEVEL: debug, info, warn or error; `fallback` when unset or empty.
LogLevel logLevelVariable(const EnvironmentLookup& lookup, LogLevel fallback);

// Config::databaseLimits: DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT, DB_KEEPALIVE_IDLE,
// DB_KEEPALIVE_INTERVAL, DB_KEEPALIVE_COUNT and DATABASE_PREPARE; the defaults where unset.
DatabaseLimits databaseLimitsVariables(const EnvironmentLookup& lookup);

// Throws ConfigError, "invalid DATABASE_URL: libpq cannot parse it: <libpq's reason>", when
// libpq cannot parse `databaseUrl`; the reason redacted as redactConnectionError does (every
// quoted part that is not a parameter name is "...": it may be the password). The edge agent's
// check: its connections are libpq's own.
void checkDatabaseUrlParses(const std::string& databaseUrl);

// checkDatabaseUrlParses, and throws ConfigError, naming the keyword (never the value: it may
// be the password), when a value of `databaseUrl` holds a space that the PostgreSQL connector of
// Poco 1.11, which every Database session goes through, would not pass to libpq whole (it splits
// at spaces and sorts the pieces).
void checkDatabaseUrl(const std::string& databaseUrl);

}  // namespace dnsh::config_variables
