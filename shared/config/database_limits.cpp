// DB_* and DATABASE_PREPARE (Config::databaseLimits): each duration within what the kernel,
// libpq and PostgreSQL accept, so a value they would refuse stops the program at start.
#include "config/config_variables.hpp"

#include <charconv>
#include <chrono>
#include <limits>
#include <string>
#include <type_traits>

#include "config/duration.hpp"

namespace dnsh::config_variables {

namespace {

// The most the DB_* durations may be: past them the program would start and then fail every
// connection. Linux's MAX_TCP_KEEPIDLE and MAX_TCP_KEEPINTVL (libpq: "setsockopt(TCP_KEEPIDLE)
// failed: Invalid argument").
constexpr std::chrono::seconds kMaxKeepalive{32767};
constexpr const char* kKeepaliveLimit = "the kernel's limit for TCP_KEEPIDLE and TCP_KEEPINTVL";
// PostgreSQL's statement_timeout and lock_timeout and libpq's tcp_user_timeout are ints of
// milliseconds: PostgreSQL refuses the SET, libpq the connection string ("invalid integer value").
constexpr std::chrono::milliseconds kMaxIntMilliseconds{std::numeric_limits<int>::max()};
constexpr const char* kTimeoutLimit =
    "PostgreSQL's limit for statement_timeout and lock_timeout (an int of milliseconds, about "
    "596h31m)";

// A DB_* duration: at least one `Unit`, in whole `Unit`s (libpq takes keepalives in seconds),
// at most `most` (`limit` says whose).
template <typename Unit>
Unit databaseDuration(const EnvironmentLookup& lookup, const std::string& name, Unit fallback,
                      Unit most, const std::string& limit) {
    const auto value = lookup(name);
    if (!value || value->empty()) return fallback;
    const auto parsed = durationVariable(lookup, name, {});
    if (parsed < Unit(1) || parsed % Unit(1) != std::chrono::milliseconds(0))
        reject(name, *value,
               std::is_same_v<Unit, std::chrono::seconds> ? "expected whole seconds, at least 1s"
                                                          : "expected at least 1ms");
    if (parsed > most)
        reject(name, *value, "expected at most " + formatDuration(most) + ", " + limit);
    return std::chrono::duration_cast<Unit>(parsed);
}

}  // namespace

DatabaseLimits databaseLimitsVariables(const EnvironmentLookup& lookup) {
    DatabaseLimits limits;
    limits.statementTimeout = databaseDuration(lookup, "DB_STATEMENT_TIMEOUT",
                                               limits.statementTimeout, kMaxIntMilliseconds,
                                               kTimeoutLimit);
    limits.lockTimeout = databaseDuration(lookup, "DB_LOCK_TIMEOUT", limits.lockTimeout,
                                          kMaxIntMilliseconds, kTimeoutLimit);
    limits.keepaliveIdle = databaseDuration(lookup, "DB_KEEPALIVE_IDLE", limits.keepaliveIdle,
                                            kMaxKeepalive, kKeepaliveLimit);
    limits.keepaliveInterval = databaseDuration(lookup, "DB_KEEPALIVE_INTERVAL",
                                                limits.keepaliveInterval, kMaxKeepalive,
                                                kKeepaliveLimit);
    if (const auto prepare = lookup("DATABASE_PREPARE"); prepare && !prepare->empty()) {
        if (*prepare != "on" && *prepare != "off")
            reject("DATABASE_PREPARE", *prepare, "expected on or off");
        limits.prepareStatements = *prepare == "on";
    }
    if (const auto value = lookup("DB_KEEPALIVE_COUNT"); value && !value->empty()) {
        int count = 0;
        const char* last = value->data() + value->size();
        if (auto [end, ec] = std::from_chars(value->data(), last, count);
            ec != std::errc() || end != last || count < 1 || count > 100)
            reject("DB_KEEPALIVE_COUNT", *value, "expected 1..100");
        limits.keepaliveCount = count;
    }
    // withKeepalives (db/connection_string.cpp) sets libpq's tcp_user_timeout to their sum.
    const auto userTimeout =
        limits.keepaliveIdle + limits.keepaliveInterval * limits.keepaliveCount;
    if (userTimeout > kMaxIntMilliseconds) {
        const auto most = std::chrono::duration_cast<std::chrono::seconds>(kMaxIntMilliseconds);
        throw ConfigError(
            "invalid DB_KEEPALIVE_IDLE + DB_KEEPALIVE_INTERVAL * DB_KEEPALIVE_COUNT (" +
            formatDuration(limits.keepaliveIdle) + " + " +
            formatDuration(limits.keepaliveInterval) + " * " +
            std::to_string(limits.keepaliveCount) + " = " + formatDuration(userTimeout) +
            "): expected at most " + formatDuration(most) +
            ", as libpq's tcp_user_timeout is their sum, an int of milliseconds");
    }
    return limits;
}

}  // namespace dnsh::config_variables
