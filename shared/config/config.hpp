#pragma once
// Configuration from the environment (README "Configuration"). A bad value stops the program
// at start with a message naming the variable (ConfigError).
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/ca_settings.hpp"
#include "config/ip_network.hpp"
#include "config/webhook_config.hpp"
#include "core/enum_names.hpp"

namespace dnsh {

enum class LogLevel { Debug, Info, Warn, Error };
// CERT_KEY_TYPE.
enum class CertKeyType { EcdsaP256, Rsa2048 };
inline constexpr EnumNames<CertKeyType, 2> kCertKeyTypeNames{{{
    {CertKeyType::EcdsaP256, "ecdsa-p256"},
    {CertKeyType::Rsa2048, "rsa-2048"},
}}};
// DNS_PRECHECK: where the scheduler looks before answering a challenge (README "How issuance and
// renewal work", "The authoritative precheck's limits").
enum class DnsPrecheck { Authoritative, Resolver };
inline constexpr EnumNames<DnsPrecheck, 2> kDnsPrecheckNames{{{
    {DnsPrecheck::Authoritative, "authoritative"},
    {DnsPrecheck::Resolver, "resolver"},
}}};

// The most FastCGI processes of one handler DNSH_HANDLER_PROCS, DNSH_READ_HANDLER_PROCS and
// DNSH_ISSUE_HANDLER_PROCS take, and DNSH_HANDLER_PROCS's default (deploy/debian/start-api and
// deploy/lib/stack.sh write it too).
inline constexpr int kMostHandlerProcs = 256;
inline constexpr int kDefaultHandlerProcs = 4;

// DNS_UPDATE_TSIG "algorithm:name:base64secret" (RFC 8945), for RFC 2136 updates.
struct TsigKey {
    std::string algorithm;  // hmac-sha256, hmac-sha384 or hmac-sha512
    std::string name;       // the key's name, as the server knows it
    std::string secret;     // base64, as in the server's configuration
};

// RENEW_BEFORE: how long before notAfter a certificate is renewed, as a duration ("720h") or
// a fraction of the certificate's own lifetime ("0.33"); the default is a third of the lifetime.
struct RenewBefore {
    std::optional<std::chrono::milliseconds> duration;
    double fraction = 1.0 / 3.0;  // used when duration is empty
};

// How every database connection is used (DB_*, DATABASE_PREPARE). The bounds: a statement, a
// lock wait and a silent network all end in an error the caller maps (a handler: 503 with
// Retry-After) instead of a wait with no end. Sessions set the two timeouts when they connect; the
// keepalives are libpq's (TCP only).
struct DatabaseLimits {
    std::chrono::milliseconds statementTimeout{15'000};  // DB_STATEMENT_TIMEOUT
    std::chrono::milliseconds lockTimeout{5'000};        // DB_LOCK_TIMEOUT
    std::chrono::seconds keepaliveIdle{30};              // DB_KEEPALIVE_IDLE
    std::chrono::seconds keepaliveInterval{10};          // DB_KEEPALIVE_INTERVAL
    int keepaliveCount = 3;                              // DB_KEEPALIVE_COUNT
    // DATABASE_PREPARE: named prepared statements (off behind a pooler that cannot keep them).
    bool prepareStatements = true;
};

struct Config {
    std::string serverAddr = ":8080";
    std::string databaseUrl;
    DatabaseLimits databaseLimits;
    // The CAs in order of preference (ACME_CAS, or the one-CA form ACME_DIRECTORY ...): never
    // empty after loadConfig.
    std::vector<CaSettings> cas;
    // The first CA's directory, bundle and profile (ACME_PROFILE: the CA profile,
    // draft-ietf-acme-profiles, of every order whose domain chose none; empty: the CA's default).
    std::string acmeDirectory = "https://acme-staging-v02.api.letsencrypt.org/directory";
    std::string acmeCaBundle;
    std::string acmeProfile;
    std::string acmeEmail;
    std::string dnsResolver;  // empty: /etc/resolv.conf
    // DNS_TIMEOUT: each server's wait. Unset, the default gives way to a short SCHEDULER_LEASE
    // (kLookupWaitsPerServer below).
    std::chrono::milliseconds dnsTimeout{10'000};
    // The servers one lookup may ask in turn: DNS_RESOLVER's, or when it is empty the
    // nameservers of /etc/resolv.conf (at least 1).
    std::size_t dnsServerCount = 1;
    std::chrono::milliseconds pollInterval{10'000};
    std::chrono::milliseconds pollTimeout{300'000};
    int schedulerWorkers = 8;
    // lighttpd's FastCGI processes per handler (DNSH_HANDLER_PROCS) and per read-only handler
    // (DNSH_READ_HANDLER_PROCS): read by `dnsh-admin handler-procs`, which says what to start.
    std::optional<int> handlerProcs;
    std::optional<int> readHandlerProcs;
    // issue_certificate's (DNSH_ISSUE_HANDLER_PROCS), which start-api and deploy/up pass to
    // lighttpd as set: checked here only, by the `dnsh-admin handler-procs` they run first
    // (lighttpd took 0 and started no process at all).
    std::optional<int> issueHandlerProcs;
    std::chrono::milliseconds leaseDuration{60'000};  // SCHEDULER_LEASE: a claim's lifetime
    // The longest one request to the CA may take, connecting and reading the whole answer
    // included: from an API handler (ACME_HANDLER_TIMEOUT; a client is waiting, and a FastCGI
    // process is held meanwhile) and from a scheduler worker (ACME_SCHEDULER_TIMEOUT; under
    // SCHEDULER_LEASE, which is renewed before every request).
    std::chrono::milliseconds acmeHandlerTimeout{5'000};
    std::chrono::milliseconds acmeSchedulerTimeout{15'000};
    // ACME_DIRECTORY_LIFETIME: how long a process keeps a CA's directory before reading it again
    // (acme/client.hpp); short for drills and tests.
    std::chrono::milliseconds acmeDirectoryLifetime{3'600'000};
    // ISSUE_RETRY_BACKOFF: how long a domain whose issuance failed waits before issue-certificate
    // may retry it; doubled with each failure in a row (issuance/backoff.hpp caps it).
    std::chrono::milliseconds issueRetryBackoff{300'000};
    std::chrono::milliseconds metricsFlushInterval{5'000};  // METRICS_FLUSH_INTERVAL
    // ARI_MAX_WAIT: the longest wait between two renewalInfo fetches of a certificate, whatever
    // the CA's Retry-After (RFC 9773 §4.3 already caps that at a day); short for drills and tests.
    std::chrono::milliseconds ariMaxWait{24 * 3'600'000};
    CertKeyType certKeyType = CertKeyType::EcdsaP256;
    RenewBefore renewBefore;
    DnsPrecheck dnsPrecheck = DnsPrecheck::Authoritative;
    // DNS_PRECHECK_ALLOW: networks of non-public addresses the authoritative precheck may ask
    // (a platform whose own nameservers are internal); empty: public unicast addresses only.
    std::vector<IpNetwork> precheckAllow;
    std::string delegationZone;   // empty: delegation off; without the trailing dot
    std::string dnsUpdateServer;  // host[:port] of the delegation zone's primary
    std::optional<TsigKey> dnsUpdateTsig;
    std::string keyEncryptionKeyFile;
    std::string authToken;
    WebhookSettings webhook;  // WEBHOOK_*: off unless WEBHOOK_URL is set
    LogLevel logLevel = LogLevel::Info;
};

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Looks a variable up; std::nullopt when unset. Tests pass a table, programs the real environment.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;

std::optional<std::string> processEnvironment(const std::string& name);

// Where ldns finds the system's nameservers when DNS_RESOLVER is unset.
inline constexpr const char* kSystemResolvConf = "/etc/resolv.conf";

// `resolvConf`: whose nameservers count as the servers when DNS_RESOLVER is unset (tests pass
// their own file).
Config loadConfig(const EnvironmentLookup& lookup = processEnvironment,
                  const std::string& resolvConf = kSystemResolvConf);

// The variables that carry a secret (a password in DATABASE_URL, a credential in WEBHOOK_URL's
// query, keys and tokens), removed from this process's environment once loadConfig has read them,
// so that a command it starts (the edge agent's EDGE_RELOAD_COMMAND) inherits none of them.
// libpq's own PG* variables stay: it reads them at every connect.
void unsetSecretVariables();

// The `nameserver` lines of a resolv.conf as ldns reads them: every one (glibc uses 3 at most,
// ldns all). At least 1, also for a file that cannot be read.
std::size_t resolvConfNameservers(const std::string& path);

// Waits of DNS_TIMEOUT one server may cost a lookup: the UDP question, and a truncated answer
// asked again over TCP with a wait of its own (dns/query_server.cpp).
inline constexpr int kLookupWaitsPerServer = 2;

// The longest one resolver lookup may take: every server in turn, each kLookupWaitsPerServer
// waits of DNS_TIMEOUT.
std::chrono::milliseconds longestDnsLookup(const Config& config);

// The scheduler extends its lease before each DNS lookup of an order's step, so one lookup
// must end within SCHEDULER_LEASE: else the extension after it fails (LeaseLost), the order is
// claimed again at once, and the same lookup outlasts the lease again. Throws ConfigError naming
// DNS_TIMEOUT, DNS_RESOLVER and SCHEDULER_LEASE when longestDnsLookup is not shorter than the
// lease (an unset DNS_TIMEOUT was defaulted to fit). The scheduler's alone: the handlers hold no
// such lease and are not given SCHEDULER_LEASE, so they keep its default.
void requireDnsTimeoutWithinLease(const Config& config);

std::optional<LogLevel> parseLogLevel(const std::string& text);

// "hmac-sha256:name:c2VjcmV0..." -> TsigKey. Throws std::invalid_argument saying what is wrong.
TsigKey parseTsigKey(const std::string& text);

// config.cas, or (a Config built field by field, as tests do) the one CA of acmeDirectory,
// acmeCaBundle and acmeProfile.
std::vector<CaSettings> configuredCas(const Config& config);
// Their directory URLs, in the same order.
std::vector<std::string> configuredCaDirectories(const Config& config);

// With DELEGATION_ZONE set, the scheduler needs DNS_UPDATE_SERVER and DNS_UPDATE_TSIG: throws
// ConfigError naming what is missing.
void requireDelegationSettings(const Config& config);

// True when SERVER_ADDR is not a loopback address and AUTH_TOKEN is empty: anyone who can reach
// the host can use the API. Programs warn about it at start.
bool apiOpenToNetwork(const Config& config);

}  // namespace dnsh
