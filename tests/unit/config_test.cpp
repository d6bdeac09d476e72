// Configuration from the environment: defaults, overrides, and a ConfigError naming the variable
// for every bad value.
#include "config/config.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "unit/environment_lookup.hpp"

using namespace dnsh;
using dnsh::test::lookupIn;
using std::chrono::milliseconds;

namespace {

using Environment = std::map<std::string, std::string>;

// A resolv.conf in a fresh temporary path, removed with the object: the servers counted when
// DNS_RESOLVER is unset, whatever the host's own file lists.
struct ResolvConf {
    std::string path;
    explicit ResolvConf(const std::string& content) {
        path = (std::filesystem::temp_directory_path() /
                ("dnsh-resolv-" + std::to_string(::getpid()) + "-" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".conf"))
                   .string();
        std::ofstream(path) << content;
    }
    ~ResolvConf() { std::filesystem::remove(path); }
};

// The message requireDnsTimeoutWithinLease refuses `config` with ("" when it does not).
std::string leaseRefusal(const Config& config) {
    try {
        requireDnsTimeoutWithinLease(config);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("loadConfig defaults when nothing is set") {
    // One system nameserver (a host's resolv.conf listing 3 would shorten DNS_TIMEOUT).
    const ResolvConf oneServer("nameserver 192.0.2.53\n");
    const Config config = loadConfig(lookupIn({}), oneServer.path);
    CHECK(config.serverAddr == ":8080");
    CHECK(config.dnsTimeout == milliseconds(10'000));
    CHECK(config.pollInterval == milliseconds(10'000));
    CHECK(config.pollTimeout == milliseconds(300'000));
    CHECK(config.schedulerWorkers == 8);
    CHECK(config.certKeyType == CertKeyType::EcdsaP256);
    CHECK(config.logLevel == LogLevel::Info);
    CHECK(config.dnsResolver.empty());
    CHECK(config.databaseUrl.empty());
    CHECK(config.authToken.empty());
}

TEST_CASE("DB_*: every statement and connection bounded, defaults and overrides") {
    const Config defaults = loadConfig(lookupIn({}));
    CHECK(defaults.databaseLimits.statementTimeout == milliseconds(15'000));
    CHECK(defaults.databaseLimits.lockTimeout == milliseconds(5'000));
    CHECK(defaults.databaseLimits.keepaliveIdle == std::chrono::seconds(30));
    CHECK(defaults.databaseLimits.keepaliveInterval == std::chrono::seconds(10));
    CHECK(defaults.databaseLimits.keepaliveCount == 3);
    const Config set = loadConfig(lookupIn({{"DB_STATEMENT_TIMEOUT", "2m"},
                                            {"DB_LOCK_TIMEOUT", "750ms"},
                                            {"DB_KEEPALIVE_IDLE", "1m"},
                                            {"DB_KEEPALIVE_INTERVAL", "5s"},
                                            {"DB_KEEPALIVE_COUNT", "4"}}));
    CHECK(set.databaseLimits.statementTimeout == milliseconds(120'000));
    CHECK(set.databaseLimits.lockTimeout == milliseconds(750));
    CHECK(set.databaseLimits.keepaliveIdle == std::chrono::seconds(60));
    CHECK(set.databaseLimits.keepaliveInterval == std::chrono::seconds(5));
    CHECK(set.databaseLimits.keepaliveCount == 4);
}

TEST_CASE("DB_*: the most each duration may be, and the keepalives' sum") {
    // The largest values every connection still takes.
    const Config most = loadConfig(lookupIn({{"DB_STATEMENT_TIMEOUT", "35791m"},
                                             {"DB_LOCK_TIMEOUT", "596h"},
                                             {"DB_KEEPALIVE_IDLE", "32767s"},
                                             {"DB_KEEPALIVE_INTERVAL", "32767s"}}));
    CHECK(most.databaseLimits.statementTimeout == std::chrono::minutes(35791));
    CHECK(most.databaseLimits.lockTimeout == std::chrono::hours(596));
    CHECK(most.databaseLimits.keepaliveIdle == std::chrono::seconds(32767));
    CHECK(most.databaseLimits.keepaliveInterval == std::chrono::seconds(32767));
    CHECK(loadConfig(lookupIn({{"DB_KEEPALIVE_IDLE", "9h"}})).databaseLimits.keepaliveIdle ==
          std::chrono::hours(9));
    // The most as README and the env file write it, and as the refusal below names it: before,
    // parseDuration refused any number past 10^9 ("number too large").
    const Config mostInMilliseconds = loadConfig(
        lookupIn({{"DB_STATEMENT_TIMEOUT", "2147483647ms"}, {"DB_LOCK_TIMEOUT", "2147483647ms"}}));
    CHECK(mostInMilliseconds.databaseLimits.statementTimeout == milliseconds(2147483647));
    CHECK(mostInMilliseconds.databaseLimits.lockTimeout == milliseconds(2147483647));

    // Each within its limit, but tcp_user_timeout (idle + interval * count, in milliseconds)
    // would be past an int: 30s + 9h * 100 = 3240030s.
    try {
        loadConfig(lookupIn({{"DB_KEEPALIVE_INTERVAL", "9h"}, {"DB_KEEPALIVE_COUNT", "100"}}));
        FAIL_CHECK("accepted keepalives whose sum libpq refuses");
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        CAPTURE(message);
        CHECK(message.find("DB_KEEPALIVE") != std::string::npos);
        CHECK(message.find("3240030s") != std::string::npos);
        CHECK(message.find("2147483s") != std::string::npos);
    }

    // The limit named for one value too large.
    try {
        loadConfig(lookupIn({{"DB_KEEPALIVE_IDLE", "32768s"}}));
        FAIL_CHECK("accepted a keepalive the kernel refuses");
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        CAPTURE(message);
        CHECK(message.find("DB_KEEPALIVE_IDLE") != std::string::npos);
        CHECK(message.find("32767s") != std::string::npos);
    }
    try {
        loadConfig(lookupIn({{"DB_STATEMENT_TIMEOUT", "35792m"}}));
        FAIL_CHECK("accepted a statement timeout PostgreSQL refuses");
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        CAPTURE(message);
        CHECK(message.find("DB_STATEMENT_TIMEOUT") != std::string::npos);
        CHECK(message.find("2147483647ms") != std::string::npos);
    }
}

TEST_CASE("loadConfig treats empty values as unset") {
    const ResolvConf oneServer("nameserver 192.0.2.53\n");
    const Config config = loadConfig(lookupIn({{"SERVER_ADDR", ""},
                                               {"DNS_TIMEOUT", ""},
                                               {"SCHEDULER_WORKERS", ""},
                                               {"CERT_KEY_TYPE", ""},
                                               {"LOG_LEVEL", ""},
                                               {"DNS_RESOLVER", ""}}),
                                     oneServer.path);
    CHECK(config.serverAddr == ":8080");
    CHECK(config.dnsTimeout == milliseconds(10'000));
    CHECK(config.schedulerWorkers == 8);
    CHECK(config.certKeyType == CertKeyType::EcdsaP256);
    CHECK(config.logLevel == LogLevel::Info);
    CHECK(config.dnsResolver.empty());
    CHECK(config.ariMaxWait == std::chrono::hours(24));  // RFC 9773 §4.3.2's day
}

TEST_CASE("ARI_MAX_WAIT caps the wait between renewalInfo fetches, down to a second") {
    CHECK(loadConfig(lookupIn({{"ARI_MAX_WAIT", "2s"}})).ariMaxWait == milliseconds(2'000));
    CHECK(loadConfig(lookupIn({{"ARI_MAX_WAIT", "1s"}})).ariMaxWait == milliseconds(1'000));
    CHECK(loadConfig(lookupIn({{"ARI_MAX_WAIT", "6h"}})).ariMaxWait == std::chrono::hours(6));
    CHECK(loadConfig(lookupIn({{"ARI_MAX_WAIT", ""}})).ariMaxWait == std::chrono::hours(24));
}

TEST_CASE("ACME_DIRECTORY_LIFETIME: how long a CA's directory is kept, from a second to 720h") {
    CHECK(loadConfig(lookupIn({})).acmeDirectoryLifetime == std::chrono::hours(1));
    CHECK(loadConfig(lookupIn({{"ACME_DIRECTORY_LIFETIME", ""}})).acmeDirectoryLifetime ==
          std::chrono::hours(1));
    CHECK(loadConfig(lookupIn({{"ACME_DIRECTORY_LIFETIME", "1s"}})).acmeDirectoryLifetime ==
          milliseconds(1'000));
    CHECK(loadConfig(lookupIn({{"ACME_DIRECTORY_LIFETIME", "10m"}})).acmeDirectoryLifetime ==
          std::chrono::minutes(10));
    CHECK(loadConfig(lookupIn({{"ACME_DIRECTORY_LIFETIME", "720h"}})).acmeDirectoryLifetime ==
          std::chrono::hours(720));
}

TEST_CASE("loadConfig applies overrides") {
    const Config config = loadConfig(lookupIn({
        {"SERVER_ADDR", "127.0.0.1:9000"},
        {"DATABASE_URL", "postgresql://dnsh@localhost/dnsh"},
        {"ACME_DIRECTORY", "https://localhost:14000/dir"},
        {"ACME_EMAIL", "ops@example.com"},
        {"DNS_RESOLVER", "127.0.0.1:8053,[::1]:53"},
        {"DNS_TIMEOUT", "500ms"},
        {"POLL_INTERVAL", "2s"},
        {"POLL_TIMEOUT", "1h"},
        {"SCHEDULER_LEASE", "90s"},
        {"ISSUE_RETRY_BACKOFF", "30s"},
        {"SCHEDULER_WORKERS", "3"},
        {"DNSH_ISSUE_HANDLER_PROCS", "256"},
        {"CERT_KEY_TYPE", "rsa-2048"},
        {"LOG_LEVEL", "debug"},
        {"AUTH_TOKEN", "secret"},
    }));
    CHECK(config.serverAddr == "127.0.0.1:9000");
    CHECK(config.databaseUrl == "postgresql://dnsh@localhost/dnsh");
    CHECK(config.acmeDirectory == "https://localhost:14000/dir");
    CHECK(config.acmeEmail == "ops@example.com");
    CHECK(config.dnsResolver == "127.0.0.1:8053,[::1]:53");
    CHECK(config.dnsTimeout == milliseconds(500));
    CHECK(config.pollInterval == milliseconds(2000));
    CHECK(config.pollTimeout == milliseconds(3'600'000));
    CHECK(config.leaseDuration == milliseconds(90'000));
    CHECK(config.issueRetryBackoff == milliseconds(30'000));
    CHECK(config.schedulerWorkers == 3);
    CHECK(config.issueHandlerProcs == 256);
    CHECK(config.certKeyType == CertKeyType::Rsa2048);
    CHECK(config.logLevel == LogLevel::Debug);
    CHECK(config.authToken == "secret");
}

TEST_CASE("loadConfig accepts every valid log level and worker bounds") {
    struct Case {
        std::string description;
        Environment environment;
        LogLevel level;
        int workers;
    };
    const std::vector<Case> cases{
        {"debug, one worker",
         {{"LOG_LEVEL", "debug"}, {"SCHEDULER_WORKERS", "1"}},
         LogLevel::Debug,
         1},
        {"info", {{"LOG_LEVEL", "info"}}, LogLevel::Info, 8},
        {"warn", {{"LOG_LEVEL", "warn"}}, LogLevel::Warn, 8},
        {"error, 256 workers",
         {{"LOG_LEVEL", "error"}, {"SCHEDULER_WORKERS", "256"}},
         LogLevel::Error,
         256},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        Config config;
        REQUIRE_NOTHROW(config = loadConfig(lookupIn(c.environment)));
        CHECK(config.logLevel == c.level);
        CHECK(config.schedulerWorkers == c.workers);
    }
}

TEST_CASE("loadConfig rejects bad values with a ConfigError naming the variable") {
    struct Case {
        std::string description;
        std::string variable;
        std::string value;
    };
    const std::vector<Case> cases{
        {"DNS timeout not a duration", "DNS_TIMEOUT", "abc"},
        {"statement preparation neither on nor off", "DATABASE_PREPARE", "yes"},
        {"DNS timeout without unit", "DNS_TIMEOUT", "10"},
        {"poll interval zero", "POLL_INTERVAL", "0s"},
        {"poll interval negative", "POLL_INTERVAL", "-5s"},
        {"poll timeout in days", "POLL_TIMEOUT", "1d"},
        {"lease not a duration", "SCHEDULER_LEASE", "forever"},
        {"issue retry backoff not a duration", "ISSUE_RETRY_BACKOFF", "soon"},
        {"zero workers", "SCHEDULER_WORKERS", "0"},
        {"negative workers", "SCHEDULER_WORKERS", "-1"},
        {"workers not a number", "SCHEDULER_WORKERS", "abc"},
        {"workers with trailing text", "SCHEDULER_WORKERS", "8x"},
        {"workers with a trailing space", "SCHEDULER_WORKERS", "8 "},
        {"workers with a leading space", "SCHEDULER_WORKERS", " 8"},
        {"workers with a plus sign", "SCHEDULER_WORKERS", "+8"},
        {"workers with a leading zero", "SCHEDULER_WORKERS", "08"},
        {"workers fractional", "SCHEDULER_WORKERS", "1.5"},
        {"too many workers", "SCHEDULER_WORKERS", "1000"},
        {"just above the worker cap", "SCHEDULER_WORKERS", "257"},
        {"workers overflow int", "SCHEDULER_WORKERS", "99999999999999999999"},
        {"zero handler processes", "DNSH_HANDLER_PROCS", "0"},
        {"handler processes above the cap", "DNSH_HANDLER_PROCS", "257"},
        {"read handler processes in words", "DNSH_READ_HANDLER_PROCS", "four"},
        {"read handler processes negative", "DNSH_READ_HANDLER_PROCS", "-2"},
        // lighttpd took these as they were: 0 started no issue_certificate process (every call
        // 503 for ever), 300 passed the cap, words lighttpd refused in its own terms only.
        {"zero issue handler processes", "DNSH_ISSUE_HANDLER_PROCS", "0"},
        {"issue handler processes above the cap", "DNSH_ISSUE_HANDLER_PROCS", "257"},
        {"issue handler processes in words", "DNSH_ISSUE_HANDLER_PROCS", "x"},
        {"issue handler processes negative", "DNSH_ISSUE_HANDLER_PROCS", "-2"},
        {"unknown key type", "CERT_KEY_TYPE", "dsa"},
        {"key type in upper case", "CERT_KEY_TYPE", "ECDSA-P256"},
        {"unknown log level", "LOG_LEVEL", "loud"},
        {"log level in upper case", "LOG_LEVEL", "INFO"},
        {"resolver not an IP", "DNS_RESOLVER", "not-an-ip"},
        {"resolver host name", "DNS_RESOLVER", "dns.example:53"},
        {"resolver bad port", "DNS_RESOLVER", "127.0.0.1:70000"},
        {"renew-before fraction of 1", "RENEW_BEFORE", "1"},
        {"renew-before fraction of 0", "RENEW_BEFORE", "0"},
        {"renew-before negative fraction", "RENEW_BEFORE", "-0.3"},
        {"renew-before fraction above 1", "RENEW_BEFORE", "1.5"},
        {"renew-before percentage", "RENEW_BEFORE", "33%"},
        {"renew-before in days", "RENEW_BEFORE", "30d"},
        {"renew-before duration without number", "RENEW_BEFORE", "h"},
        {"renew-before fraction with trailing text", "RENEW_BEFORE", "0.3x"},
        {"statement timeout not a duration", "DB_STATEMENT_TIMEOUT", "forever"},
        {"statement timeout zero", "DB_STATEMENT_TIMEOUT", "0s"},
        {"lock timeout without a unit", "DB_LOCK_TIMEOUT", "5"},
        {"keepalive idle below a second", "DB_KEEPALIVE_IDLE", "500ms"},
        {"keepalive interval not whole seconds", "DB_KEEPALIVE_INTERVAL", "1500ms"},
        {"keepalive count zero", "DB_KEEPALIVE_COUNT", "0"},
        {"keepalive count not a number", "DB_KEEPALIVE_COUNT", "three"},
        {"keepalive count too large", "DB_KEEPALIVE_COUNT", "1000"},
        // Past the kernel's TCP_KEEPIDLE / TCP_KEEPINTVL maximum (32767 s), or PostgreSQL's
        // int of milliseconds: the program would start, then fail every connection.
        {"keepalive idle past the kernel's 32767s", "DB_KEEPALIVE_IDLE", "10h"},
        {"keepalive interval past the kernel's 32767s", "DB_KEEPALIVE_INTERVAL", "32768s"},
        {"statement timeout past an int of milliseconds", "DB_STATEMENT_TIMEOUT", "597h"},
        {"lock timeout past an int of milliseconds", "DB_LOCK_TIMEOUT", "597h"},
        {"statement timeout a millisecond past an int", "DB_STATEMENT_TIMEOUT", "2147483648ms"},
        {"ARI wait not a duration", "ARI_MAX_WAIT", "often"},
        {"ARI wait below a second", "ARI_MAX_WAIT", "500ms"},
        {"ARI wait zero", "ARI_MAX_WAIT", "0s"},
        {"directory lifetime below a second", "ACME_DIRECTORY_LIFETIME", "500ms"},
        {"directory lifetime not a duration", "ACME_DIRECTORY_LIFETIME", "hourly"},
        // Meant as "never": added to steady_clock::now() it overflowed the nanoseconds, and
        // every CA request read the directory first.
        {"directory lifetime past 720h", "ACME_DIRECTORY_LIFETIME", "721h"},
        {"directory lifetime meant as never", "ACME_DIRECTORY_LIFETIME", "10000000h"},
        // Any duration past 100 years (parseDuration): it wrapped into the past once added to
        // a clock. Before, accepted.
        {"poll interval meant as never", "POLL_INTERVAL", "9999999h"},
        {"webhook retention meant as never", "WEBHOOK_RETENTION", "9999999h"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.value);
        bool threw = false;
        try {
            loadConfig(lookupIn({{c.variable, c.value}}));
        } catch (const ConfigError& e) {
            threw = true;
            CAPTURE(e.what());
            CHECK(std::string(e.what()).find(c.variable) != std::string::npos);
        } catch (const std::exception& e) {
            CAPTURE(e.what());
            FAIL_CHECK("threw something other than ConfigError");
        }
        CHECK_MESSAGE(threw, "bad value accepted");
    }
}

TEST_CASE("DATABASE_URL that libpq cannot parse: a ConfigError naming it and libpq's reason, "
          "never the password") {
    // Before, it passed the start: the edge agent retried for ever, dnsh-admin exited 70.
    const std::string password = "Pa55-w0rd-kept-out";
    struct Case {
        std::string description;
        std::string url;
        std::string reason;  // libpq's words
    };
    const std::vector<Case> cases{
        {"a misspelt URI parameter",
         "postgresql://dnsh:" + password + "@db/dnsh?sslmod=verify-full",
         "invalid URI query parameter"},
        {"a keyword libpq does not know",
         "host=db keepalive=1 password=" + password,
         "invalid connection option"},
        // libpq quotes the piece it choked on, here the password's second half.
        {"a password with an unquoted space",
         "host=db user=dnsh password=hunter2 " + password,
         "missing \"=\" after \"...\""},
        {"a password not percent-encoded",
         "postgresql://dnsh:" + password + "%zz@db/dnsh",
         "invalid percent-encoded token: \"...\""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        std::string message;
        try {
            loadConfig(lookupIn({{"DATABASE_URL", c.url}}));
        } catch (const ConfigError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(message.find("invalid DATABASE_URL") != std::string::npos);
        CHECK(message.find(c.reason) != std::string::npos);
        CHECK(message.find(password) == std::string::npos);
        CHECK(message.find("hunter2") == std::string::npos);
    }
    // A value libpq checks only when it connects still loads (libpq's own message then).
    CHECK_NOTHROW(
        loadConfig(lookupIn({{"DATABASE_URL", "postgresql://db/dnsh?sslmode=verify_full"}})));
}

TEST_CASE("RENEW_BEFORE: a third of the lifetime by default, a duration or a fraction") {
    const Config defaults = loadConfig(lookupIn({}));
    CHECK_FALSE(defaults.renewBefore.duration.has_value());
    CHECK(defaults.renewBefore.fraction == doctest::Approx(1.0 / 3.0));
    const Config duration = loadConfig(lookupIn({{"RENEW_BEFORE", "720h"}}));
    REQUIRE(duration.renewBefore.duration.has_value());
    CHECK(*duration.renewBefore.duration == std::chrono::hours(720));
    const Config fraction = loadConfig(lookupIn({{"RENEW_BEFORE", "0.5"}}));
    CHECK_FALSE(fraction.renewBefore.duration.has_value());
    CHECK(fraction.renewBefore.fraction == doctest::Approx(0.5));
}

TEST_CASE("parseLogLevel") {
    struct Case {
        std::string description;
        std::string text;
        std::optional<LogLevel> expected;
    };
    const std::vector<Case> cases{
        {"debug", "debug", LogLevel::Debug},   {"info", "info", LogLevel::Info},
        {"warn", "warn", LogLevel::Warn},      {"error", "error", LogLevel::Error},
        {"empty", "", std::nullopt},           {"warning spelled out", "warning", std::nullopt},
        {"upper case", "DEBUG", std::nullopt},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(parseLogLevel(c.text) == c.expected);
    }
}

TEST_CASE("apiOpenToNetwork: beyond loopback without AUTH_TOKEN") {
    struct Case {
        std::string description, serverAddr, authToken;
        bool open;
    };
    const std::vector<Case> cases{
        {"all interfaces (the default)", ":8080", "", true},
        {"a public address", "192.0.2.10:8080", "", true},
        {"all interfaces, explicit", "0.0.0.0:8080", "", true},
        {"IPv6 all interfaces", "[::]:8080", "", true},
        {"IPv4 loopback", "127.0.0.1:8080", "", false},
        {"another 127/8 address", "127.0.0.2:9000", "", false},
        {"IPv6 loopback", "[::1]:8080", "", false},
        {"localhost", "localhost:8080", "", false},
        {"all interfaces with a token", ":8080", "s3cret", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        Config config;
        config.serverAddr = c.serverAddr;
        config.authToken = c.authToken;
        CHECK(apiOpenToNetwork(config) == c.open);
    }
}

TEST_CASE(
    "delegation settings: DNS_PRECHECK, DELEGATION_ZONE, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG") {
    const Config defaults = loadConfig(lookupIn({}));
    CHECK(defaults.dnsPrecheck == DnsPrecheck::Authoritative);
    CHECK(defaults.delegationZone.empty());
    CHECK_NOTHROW(requireDelegationSettings(defaults));

    const Config configured = loadConfig(lookupIn({
        {"DNS_PRECHECK", "resolver"},
        {"DELEGATION_ZONE", "acme-delegation.test."},
        {"DNS_UPDATE_SERVER", "127.0.0.1:5353"},
        {"DNS_UPDATE_TSIG", "hmac-sha256:dnsh-update.:c2VjcmV0LWJ5dGVzLWZvci10c2lnLXRlc3Q="},
    }));
    CHECK(configured.dnsPrecheck == DnsPrecheck::Resolver);
    CHECK(configured.delegationZone == "acme-delegation.test");  // trailing dot dropped
    REQUIRE(configured.dnsUpdateTsig.has_value());
    CHECK(configured.dnsUpdateTsig->algorithm == "hmac-sha256");
    CHECK(configured.dnsUpdateTsig->name == "dnsh-update.");
    CHECK_NOTHROW(requireDelegationSettings(configured));

    // A zone without the update settings stops the scheduler with a message naming them.
    Config missing = configured;
    missing.dnsUpdateTsig.reset();
    CHECK_THROWS_WITH_AS(requireDelegationSettings(missing), doctest::Contains("DNS_UPDATE_TSIG"),
                         ConfigError);
    missing = configured;
    missing.dnsUpdateServer.clear();
    CHECK_THROWS_WITH_AS(requireDelegationSettings(missing), doctest::Contains("DNS_UPDATE_SERVER"),
                         ConfigError);
}

TEST_CASE("parseTsigKey: algorithm:name:base64secret, strong HMACs only") {
    struct Case {
        std::string description;
        std::string text;
        bool valid;
    };
    const std::string secret = "c2VjcmV0LWJ5dGVzLWZvci10c2lnLXRlc3Q=";  // 25 bytes
    const std::vector<Case> cases{
        {"hmac-sha256", "hmac-sha256:key.:" + secret, true},
        {"hmac-sha512", "hmac-sha512:key:" + secret, true},
        {"hmac-md5 is not accepted (RFC 8945 §6)", "hmac-md5:key:" + secret, false},
        {"hmac-sha1 is not accepted", "hmac-sha1:key:" + secret, false},
        {"no name", "hmac-sha256::" + secret, false},
        {"missing secret part", "hmac-sha256:key", false},
        {"secret not base64", "hmac-sha256:key:not*base64!", false},
        {"secret shorter than 16 bytes", "hmac-sha256:key:c2hvcnQ=", false},
        {"empty", "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        if (c.valid)
            CHECK_NOTHROW(parseTsigKey(c.text));
        else
            CHECK_THROWS_AS(parseTsigKey(c.text), std::invalid_argument);
    }
    // The message of a bad DNS_UPDATE_TSIG names the variable, never the secret.
    try {
        loadConfig(lookupIn({{"DNS_UPDATE_TSIG", "hmac-md5:key:" + secret}}));
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("DNS_UPDATE_TSIG") != std::string::npos);
        CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
}

TEST_CASE("DNS_PRECHECK_ALLOW: a CIDR list, validated, the variable named when it is wrong") {
    CHECK(loadConfig(lookupIn({})).precheckAllow.empty());
    const Config configured = loadConfig(
        lookupIn({{"DNS_PRECHECK_ALLOW", "127.0.0.0/8, 10.0.0.0/8,fd00::/8,192.0.2.7"}}));
    REQUIRE(configured.precheckAllow.size() == 4);
    CHECK(configured.precheckAllow[0].prefix == 8);
    CHECK(configured.precheckAllow[3].prefix == 32);  // a bare address: itself alone
    for (const std::string bad : {"127.0.0.0/33", "10.0.0.0/8,", "loopback", "10.1.2.3/8",
                                  "fd00::/129", "10.0.0.0/-1", "10.0.0.0/", ",10.0.0.0/8"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(loadConfig(lookupIn({{"DNS_PRECHECK_ALLOW", bad}})),
                             doctest::Contains("DNS_PRECHECK_ALLOW"), ConfigError);
    }
}

TEST_CASE("ACME_HANDLER_TIMEOUT and ACME_SCHEDULER_TIMEOUT: budgets of one CA request") {
    const Config defaults = loadConfig(lookupIn({}));
    CHECK(defaults.acmeHandlerTimeout == std::chrono::seconds(5));
    CHECK(defaults.acmeSchedulerTimeout == std::chrono::seconds(15));

    const Config set = loadConfig(
        lookupIn({{"ACME_HANDLER_TIMEOUT", "1500ms"}, {"ACME_SCHEDULER_TIMEOUT", "20s"}}));
    CHECK(set.acmeHandlerTimeout == milliseconds(1500));
    CHECK(set.acmeSchedulerTimeout == std::chrono::seconds(20));

    // Unset, the scheduler's budget gives way to a short lease: the lease is renewed before each
    // request and must outlast it.
    const Config shortLease = loadConfig(lookupIn({{"SCHEDULER_LEASE", "2s"}}));
    CHECK(shortLease.acmeSchedulerTimeout == std::chrono::seconds(1));

    // Set, one that may outlast the lease is refused, naming both.
    try {
        loadConfig(lookupIn({{"SCHEDULER_LEASE", "10s"}, {"ACME_SCHEDULER_TIMEOUT", "10s"}}));
        FAIL("accepted a CA request budget as long as the lease");
    } catch (const dnsh::ConfigError& e) {
        CHECK(std::string(e.what()).find("ACME_SCHEDULER_TIMEOUT") != std::string::npos);
        CHECK(std::string(e.what()).find("SCHEDULER_LEASE") != std::string::npos);
    }
    CHECK_THROWS_AS(loadConfig(lookupIn({{"ACME_HANDLER_TIMEOUT", "0s"}})), dnsh::ConfigError);
    CHECK_THROWS_AS(loadConfig(lookupIn({{"ACME_HANDLER_TIMEOUT", "5"}})), dnsh::ConfigError);
}

TEST_CASE(
    "DNS_TIMEOUT within SCHEDULER_LEASE: two waits at every server, refused by the scheduler when "
    "set too long, defaulted down when unset") {
    using std::chrono::seconds;
    // Set: 3 servers x 2 waits x 20 s = 2 min, not under the lease of 60 s. loadConfig takes it
    // (the handlers, not given SCHEDULER_LEASE, keep working); the scheduler refuses, naming
    // the three settings.
    const Config tooLong =
        loadConfig(lookupIn({{"SCHEDULER_LEASE", "60s"},
                             {"DNS_TIMEOUT", "20s"},
                             {"DNS_RESOLVER", "192.0.2.1,192.0.2.2,192.0.2.3"}}));
    CHECK(tooLong.dnsTimeout == seconds(20));
    CHECK(tooLong.dnsServerCount == 3);
    CHECK(longestDnsLookup(tooLong) == seconds(120));
    const std::string refused = leaseRefusal(tooLong);
    CAPTURE(refused);
    CHECK(refused.find("DNS_TIMEOUT") != std::string::npos);
    CHECK(refused.find("DNS_RESOLVER") != std::string::npos);
    CHECK(refused.find("SCHEDULER_LEASE") != std::string::npos);

    // Set, the boundary: 2 x 2 x 14 s = 56 s fits a 60 s lease, 2 x 2 x 15 s = 60 s does not.
    const Environment twoServers{{"SCHEDULER_LEASE", "60s"}, {"DNS_RESOLVER", "192.0.2.1,[::1]"}};
    Environment fits = twoServers, full = twoServers;
    fits["DNS_TIMEOUT"] = "14s";
    full["DNS_TIMEOUT"] = "15s";
    CHECK(leaseRefusal(loadConfig(lookupIn(fits))).empty());
    CHECK_FALSE(leaseRefusal(loadConfig(lookupIn(full))).empty());

    // Unset, a lease of 10 s and two servers: DNS_TIMEOUT gives way, all four waits and one
    // more within the lease (before: 10 s, a lookup of up to 40 s).
    const Config shortLease =
        loadConfig(lookupIn({{"SCHEDULER_LEASE", "10s"}, {"DNS_RESOLVER", "192.0.2.1,192.0.2.2"}}));
    CHECK(shortLease.dnsTimeout == seconds(2));
    CHECK(longestDnsLookup(shortLease) < seconds(10));
    CHECK(leaseRefusal(shortLease).empty());

    // The defaults with two servers fit: unchanged.
    const Config defaults = loadConfig(lookupIn({{"DNS_RESOLVER", "192.0.2.1,192.0.2.2"}}));
    CHECK(defaults.dnsTimeout == seconds(10));
    CHECK(defaults.leaseDuration == seconds(60));
    CHECK(leaseRefusal(defaults).empty());
}

TEST_CASE("DNS_TIMEOUT within SCHEDULER_LEASE: without DNS_RESOLVER, resolv.conf's nameservers") {
    // ldns asks every nameserver line (the keyword in any case), not glibc's first 3.
    const ResolvConf three(
        "# the host's resolvers\nnameserver 192.0.2.1\nNAMESERVER 192.0.2.2\n"
        "#nameserver 192.0.2.9\n; nameserver 192.0.2.10\noptions timeout:1\n"
        "search example.com\nnameserver 2001:db8::1\n");
    CHECK(resolvConfNameservers(three.path) == 3);
    const Config defaulted = loadConfig(lookupIn({}), three.path);
    CHECK(defaulted.dnsServerCount == 3);
    CHECK(defaulted.dnsTimeout == milliseconds(60'000 / 7));  // 3 x 2 waits and one more: 8.57 s
    CHECK(leaseRefusal(defaulted).empty());

    const std::string refused = leaseRefusal(loadConfig(lookupIn({{"DNS_TIMEOUT", "10s"}}),
                                                        three.path));
    CAPTURE(refused);
    CHECK(refused.find("DNS_TIMEOUT") != std::string::npos);
    CHECK(refused.find("/etc/resolv.conf") != std::string::npos);
    CHECK(refused.find("SCHEDULER_LEASE") != std::string::npos);

    // No file to read: one server (ldns cannot ask any).
    CHECK(resolvConfNameservers(three.path + ".missing") == 1);
}

TEST_CASE("ACME_PROFILE: a profile name, or empty for the CA's default") {
    CHECK(loadConfig(lookupIn({})).acmeProfile.empty());
    CHECK(loadConfig(lookupIn({{"ACME_PROFILE", "shortlived"}})).acmeProfile == "shortlived");
    for (const std::string& bad :
         std::vector<std::string>{"short lived", "tls/server", std::string(65, 'a'), "é"}) {
        CAPTURE(bad);
        try {
            loadConfig(lookupIn({{"ACME_PROFILE", bad}}));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()).find("ACME_PROFILE") != std::string::npos);
        }
    }
}
