#include "config/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "config/config_variables.hpp"
#include "config/duration.hpp"
#include "config/server_list.hpp"
#include "crypto/keys.hpp"

namespace dnsh {

std::optional<std::string> processEnvironment(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

void unsetSecretVariables() {
    for (const char* name : {"DATABASE_URL", "AUTH_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET",
                             "DNS_UPDATE_TSIG", "ACME_EAB_KID", "ACME_EAB_HMAC_KEY"})
        ::unsetenv(name);
}

std::optional<LogLevel> parseLogLevel(const std::string& text) {
    if (text == "debug") return LogLevel::Debug;
    if (text == "info") return LogLevel::Info;
    if (text == "warn") return LogLevel::Warn;
    if (text == "error") return LogLevel::Error;
    return std::nullopt;
}

TsigKey parseTsigKey(const std::string& text) {
    const std::size_t first = text.find(':');
    const std::size_t second = first == std::string::npos ? first : text.find(':', first + 1);
    if (second == std::string::npos)
        throw std::invalid_argument("expected algorithm:name:base64secret");
    TsigKey key{text.substr(0, first), text.substr(first + 1, second - first - 1),
                text.substr(second + 1)};
    // RFC 8945 §6: HMAC-SHA256 is mandatory to implement; MD5 and SHA-1 are not accepted here.
    if (key.algorithm != "hmac-sha256" && key.algorithm != "hmac-sha384" &&
        key.algorithm != "hmac-sha512")
        throw std::invalid_argument("algorithm must be hmac-sha256, hmac-sha384 or hmac-sha512");
    if (key.name.empty()) throw std::invalid_argument("the key name is empty");
    std::string decoded;
    try {
        std::string urlSafe = key.secret;
        for (char& c : urlSafe) c = c == '+' ? '-' : c == '/' ? '_' : c;
        while (!urlSafe.empty() && urlSafe.back() == '=') urlSafe.pop_back();
        decoded = base64UrlDecode(urlSafe);
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("the secret is not base64");
    }
    if (decoded.size() < 16) throw std::invalid_argument("the secret is shorter than 16 bytes");
    return key;
}

std::vector<CaSettings> configuredCas(const Config& config) {
    if (!config.cas.empty()) return config.cas;
    CaSettings ca;
    ca.name = "default";
    ca.directoryUrl = config.acmeDirectory;
    ca.caBundle = config.acmeCaBundle;
    ca.profile = config.acmeProfile;
    return {ca};
}

std::vector<std::string> configuredCaDirectories(const Config& config) {
    std::vector<std::string> directories;
    for (const auto& ca : configuredCas(config)) directories.push_back(ca.directoryUrl);
    return directories;
}

void requireDelegationSettings(const Config& config) {
    if (config.delegationZone.empty()) return;
    if (config.dnsUpdateServer.empty())
        throw ConfigError(
            "DELEGATION_ZONE is set but DNS_UPDATE_SERVER is not: it names the "
            "primary server of " +
            config.delegationZone + " (host[:port])");
    if (!config.dnsUpdateTsig)
        throw ConfigError(
            "DELEGATION_ZONE is set but DNS_UPDATE_TSIG is not: "
            "algorithm:name:base64secret of the key the primary accepts updates with");
}

bool apiOpenToNetwork(const Config& config) {
    if (!config.authToken.empty()) return false;
    const std::string host = config.serverAddr.substr(0, config.serverAddr.rfind(':'));
    const bool loopback = host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
    return !loopback;
}

namespace config_variables {

[[noreturn]] void reject(const std::string& name, const std::string& value,
                         const std::string& why) {
    throw ConfigError("invalid " + name + "=\"" + value + "\": " + why);
}

std::optional<std::chrono::milliseconds> setDurationVariable(const EnvironmentLookup& lookup,
                                                             const std::string& name) {
    const auto value = lookup(name);
    if (!value || value->empty()) return std::nullopt;
    try {
        return parseDuration(*value);
    } catch (const std::invalid_argument& e) {
        reject(name, *value, e.what());
    }
}

std::chrono::milliseconds durationVariable(const EnvironmentLookup& lookup, const std::string& name,
                                           std::chrono::milliseconds fallback) {
    return setDurationVariable(lookup, name).value_or(fallback);
}

LogLevel logLevelVariable(const EnvironmentLookup& lookup, LogLevel fallback) {
    const auto value = lookup("LOG_LEVEL");
    if (!value || value->empty()) return fallback;
    const auto level = parseLogLevel(*value);
    if (!level) reject("LOG_LEVEL", *value, "expected debug, info, warn or error");
    return *level;
}

}  // namespace config_variables

using config_variables::databaseLimitsVariables;
using config_variables::durationVariable;
using config_variables::setDurationVariable;
using config_variables::reject;

namespace {

// A count from 1 to `most`, written in plain decimal (no sign, no leading zero); nothing when
// the variable is unset or empty.
std::optional<int> countVariable(const EnvironmentLookup& lookup, const std::string& name,
                                 int most) {
    const auto value = lookup(name);
    if (!value || value->empty()) return std::nullopt;
    int count = 0;
    const char* last = value->data() + value->size();
    if (auto [end, ec] = std::from_chars(value->data(), last, count);
        ec != std::errc() || end != last || (*value)[0] == '0')
        count = 0;
    if (count < 1 || count > most) reject(name, *value, "expected 1.." + std::to_string(most));
    return count;
}

// One of the table's names ("expected a, b or c" otherwise); `fallback` when unset or empty.
template <typename Enum, std::size_t N>
Enum enumVariable(const EnvironmentLookup& lookup, const std::string& name,
                  const EnumNames<Enum, N>& names, Enum fallback) {
    const auto value = lookup(name);
    if (!value || value->empty()) return fallback;
    if (const auto parsed = names.parse(*value)) return *parsed;
    std::string expected;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) expected += i + 1 == N ? " or " : ", ";
        expected += names.names[i].second;
    }
    reject(name, *value, "expected " + expected);
}

RenewBefore renewBeforeVariable(const EnvironmentLookup& lookup) {
    RenewBefore renewBefore;
    const auto value = lookup("RENEW_BEFORE");
    if (!value || value->empty()) return renewBefore;
    // A unit letter makes it a duration; otherwise a fraction of the lifetime in (0, 1).
    if (value->find_first_of("smh") != std::string::npos) {
        renewBefore.duration = durationVariable(lookup, "RENEW_BEFORE", {});
        return renewBefore;
    }
    double fraction = 0;
    const char* last = value->data() + value->size();
    if (auto [end, ec] = std::from_chars(value->data(), last, fraction);
        ec != std::errc() || end != last || !(fraction > 0 && fraction < 1))
        reject("RENEW_BEFORE", *value,
               "expected a duration (720h) or a fraction of the lifetime between 0 and 1 (0.33)");
    renewBefore.fraction = fraction;
    return renewBefore;
}

}  // namespace

Config loadConfig(const EnvironmentLookup& lookup, const std::string& resolvConf) {
    Config config;
    auto text = [&](const std::string& name, std::string& field) {
        if (const auto value = lookup(name); value && !value->empty()) field = *value;
    };
    text("SERVER_ADDR", config.serverAddr);
    text("DATABASE_URL", config.databaseUrl);
    config_variables::checkDatabaseUrl(config.databaseUrl);
    config.cas = loadCaSettings(lookup);
    config.acmeDirectory = config.cas.front().directoryUrl;
    config.acmeCaBundle = config.cas.front().caBundle;
    config.acmeProfile = config.cas.front().profile;
    text("ACME_EMAIL", config.acmeEmail);
    text("DNS_RESOLVER", config.dnsResolver);
    text("KEY_ENCRYPTION_KEY_FILE", config.keyEncryptionKeyFile);
    text("AUTH_TOKEN", config.authToken);

    if (!config.dnsResolver.empty()) {
        try {
            config.dnsServerCount = parseResolverList(config.dnsResolver).size();
        } catch (const std::invalid_argument& e) {
            reject("DNS_RESOLVER", config.dnsResolver, e.what());
        }
    } else {
        config.dnsServerCount = resolvConfNameservers(resolvConf);
    }
    config.pollInterval = durationVariable(lookup, "POLL_INTERVAL", config.pollInterval);
    config.pollTimeout = durationVariable(lookup, "POLL_TIMEOUT", config.pollTimeout);
    config.leaseDuration = durationVariable(lookup, "SCHEDULER_LEASE", config.leaseDuration);
    // The lease is extended before each DNS lookup of a step: a lookup that may outlast it loses
    // the order (requireDnsTimeoutWithinLease refuses a DNS_TIMEOUT set so). Unset, the default
    // gives way to a short lease or many servers: all their waits and one more (the database
    // work around a lookup) within the lease.
    if (const auto set = setDurationVariable(lookup, "DNS_TIMEOUT")) {
        config.dnsTimeout = *set;
    } else {
        const auto servers = static_cast<std::chrono::milliseconds::rep>(config.dnsServerCount);
        config.dnsTimeout = std::clamp(config.leaseDuration / (kLookupWaitsPerServer * servers + 1),
                                       std::chrono::milliseconds(1), config.dnsTimeout);
    }
    config.acmeHandlerTimeout =
        durationVariable(lookup, "ACME_HANDLER_TIMEOUT", config.acmeHandlerTimeout);
    // The lease is renewed before each CA request: a request that may outlast it would let a
    // second worker claim the same order while the first still waits for the CA. Unset, the
    // default gives way to a short lease.
    if (const auto set = setDurationVariable(lookup, "ACME_SCHEDULER_TIMEOUT")) {
        config.acmeSchedulerTimeout = *set;
        if (config.acmeSchedulerTimeout >= config.leaseDuration)
            reject("ACME_SCHEDULER_TIMEOUT", *lookup("ACME_SCHEDULER_TIMEOUT"),
                   "must be shorter than SCHEDULER_LEASE (" + formatDuration(config.leaseDuration) +
                       ")");
    } else {
        config.acmeSchedulerTimeout =
            std::min(config.acmeSchedulerTimeout, config.leaseDuration / 2);
    }
    // At most 720h: a CA's changes to its directory are seen within a month, and a value meant
    // as "never" cannot overflow steady_clock's nanoseconds (about 292 years) when added to now,
    // which would make every CA request read the directory first.
    if (const auto set = setDurationVariable(lookup, "ACME_DIRECTORY_LIFETIME")) {
        if (*set < std::chrono::seconds(1))
            reject("ACME_DIRECTORY_LIFETIME", *lookup("ACME_DIRECTORY_LIFETIME"),
                   "expected at least 1s");
        if (*set > std::chrono::hours(720))
            reject("ACME_DIRECTORY_LIFETIME", *lookup("ACME_DIRECTORY_LIFETIME"),
                   "expected at most 720h");
        config.acmeDirectoryLifetime = *set;
    }
    config.issueRetryBackoff =
        durationVariable(lookup, "ISSUE_RETRY_BACKOFF", config.issueRetryBackoff);
    config.metricsFlushInterval =
        durationVariable(lookup, "METRICS_FLUSH_INTERVAL", config.metricsFlushInterval);
    if (const auto value = lookup("ARI_MAX_WAIT"); value && !value->empty()) {
        config.ariMaxWait = durationVariable(lookup, "ARI_MAX_WAIT", config.ariMaxWait);
        if (config.ariMaxWait < std::chrono::seconds(1))
            reject("ARI_MAX_WAIT", *value, "expected at least 1s");
    }
    config.renewBefore = renewBeforeVariable(lookup);
    config.databaseLimits = databaseLimitsVariables(lookup);

    config.dnsPrecheck =
        enumVariable(lookup, "DNS_PRECHECK", kDnsPrecheckNames, config.dnsPrecheck);
    if (const auto value = lookup("DNS_PRECHECK_ALLOW"); value && !value->empty()) {
        try {
            config.precheckAllow = parseNetworkList(*value);
        } catch (const std::invalid_argument& e) {
            reject("DNS_PRECHECK_ALLOW", *value,
                   std::string(e.what()) + "; expected CIDR networks, e.g. 10.0.0.0/8,fd00::/8");
        }
    }
    text("DELEGATION_ZONE", config.delegationZone);
    while (!config.delegationZone.empty() && config.delegationZone.back() == '.')
        config.delegationZone.pop_back();
    text("DNS_UPDATE_SERVER", config.dnsUpdateServer);
    if (!config.dnsUpdateServer.empty()) {
        try {
            if (parseResolverList(config.dnsUpdateServer).size() != 1)
                throw std::invalid_argument("expected one server");
        } catch (const std::invalid_argument& e) {
            reject("DNS_UPDATE_SERVER", config.dnsUpdateServer, e.what());
        }
    }
    if (const auto value = lookup("DNS_UPDATE_TSIG"); value && !value->empty()) {
        try {
            config.dnsUpdateTsig = parseTsigKey(*value);
        } catch (const std::invalid_argument& e) {
            // The value is a secret: the message names the variable and the problem only.
            throw ConfigError("invalid DNS_UPDATE_TSIG: " + std::string(e.what()));
        }
    }

    if (const auto workers = countVariable(lookup, "SCHEDULER_WORKERS", 256))
        config.schedulerWorkers = *workers;
    config.handlerProcs = countVariable(lookup, "DNSH_HANDLER_PROCS", kMostHandlerProcs);
    config.readHandlerProcs = countVariable(lookup, "DNSH_READ_HANDLER_PROCS", kMostHandlerProcs);
    config.issueHandlerProcs =
        countVariable(lookup, "DNSH_ISSUE_HANDLER_PROCS", kMostHandlerProcs);
    config.certKeyType =
        enumVariable(lookup, "CERT_KEY_TYPE", kCertKeyTypeNames, config.certKeyType);
    config.webhook = loadWebhookSettings(lookup);
    config.logLevel = config_variables::logLevelVariable(lookup, config.logLevel);
    return config;
}

}  // namespace dnsh
