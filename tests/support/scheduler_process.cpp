#include "support/scheduler_process.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

// True when the scheduler would refuse `settings` (over the test's environment) for their
// DNS_TIMEOUT; false too when another setting is refused: that is the case's own business.
bool dnsTimeoutOutlastsLease(const std::map<std::string, std::string>& settings) {
    Config config;
    try {
        config = loadConfig([&](const std::string& name) {
            const auto set = settings.find(name);
            return set != settings.end() ? std::optional(set->second) : processEnvironment(name);
        });
    } catch (const std::exception&) {
        return false;
    }
    try {
        requireDnsTimeoutWithinLease(config);
        return false;
    } catch (const ConfigError&) {
        return true;
    }
}

std::map<std::string, std::string> withDefaults(const std::map<std::string, std::string>& env) {
    std::map<std::string, std::string> settings{{"POLL_INTERVAL", "200ms"}, {"LOG_LEVEL", "info"}};
    for (const auto& [name, value] : env) settings[name] = value;
    // A short SCHEDULER_LEASE may not hold two waits of the stack's DNS_TIMEOUT (2 s) at each
    // resolver, and the scheduler would refuse to start: unless the case chose DNS_TIMEOUT, it is
    // then left unset (empty), and its default fits the lease.
    if (env.count("SCHEDULER_LEASE") != 0 && env.count("DNS_TIMEOUT") == 0 &&
        dnsTimeoutOutlastsLease(settings))
        settings["DNS_TIMEOUT"] = "";
    return settings;
}

// The wrapper's own arguments, then the scheduler it runs.
std::vector<std::string> wrappedArguments(const std::vector<std::string>& wrapper) {
    if (wrapper.empty()) throw std::invalid_argument("SchedulerProcess: an empty wrapper");
    std::vector<std::string> arguments(wrapper.begin() + 1, wrapper.end());
    arguments.push_back(requireEnv("DNSH_SCHEDULER_BIN"));
    return arguments;
}

}  // namespace

SchedulerProcess::SchedulerProcess(const std::map<std::string, std::string>& env)
    : ChildProcess(requireEnv("DNSH_SCHEDULER_BIN"), {}, withDefaults(env), "scheduler") {}

SchedulerProcess::SchedulerProcess(const std::map<std::string, std::string>& env,
                                   const std::vector<std::string>& wrapper)
    : ChildProcess(wrapper.at(0), wrappedArguments(wrapper), withDefaults(env), "scheduler") {}

// Waits for the scheduler's "scheduler started" log line (it logs it once its workers run).
void requireStarted(const SchedulerProcess& scheduler) {
    const bool started = waitFor(
        std::chrono::seconds(5),
        [&] { return scheduler.log().find("\"scheduler started\"") != std::string::npos; },
        std::chrono::milliseconds(20));
    REQUIRE_MESSAGE(started, "dns-scheduler did not start within 5 s: " << describe(scheduler));
}

std::unique_ptr<SchedulerProcess> startScheduler(const std::map<std::string, std::string>& env) {
    auto scheduler = std::make_unique<SchedulerProcess>(env);
    requireStarted(*scheduler);
    return scheduler;
}

bool stepLogged(const SchedulerProcess& scheduler, const std::string& orderId) {
    std::istringstream lines(scheduler.log());
    for (std::string line; std::getline(lines, line);)
        if (line.find("\"msg\":\"step\"") != std::string::npos &&
            line.find("\"order_id\":\"" + orderId + "\"") != std::string::npos)
            return true;
    return false;
}

std::string insertDueIssueOrder(ScratchDatabase& database, const std::string& label) {
    const std::string domainId = randomHex(16);
    const std::string orderId = randomHex(16);
    database.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                 "VALUES (" +
                 quoted(domainId) + ", " + quoted(uniqueDomainName(label)) + ", " +
                 quoted(randomHex(32)) +
                 ", 'certificate_pending', now()); "
                 "INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES (" +
                 quoted(orderId) + ", " + quoted(domainId) + ", 'issue', 'place_order', now())");
    return orderId;
}

}  // namespace dnsh::test
