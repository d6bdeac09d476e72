#include "support/scheduler_process.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

std::map<std::string, std::string> withDefaults(const std::map<std::string, std::string>& env) {
    std::map<std::string, std::string> settings{{"POLL_INTERVAL", "200ms"}, {"LOG_LEVEL", "info"}};
    for (const auto& [name, value] : env) settings[name] = value;
    return settings;
}

}  // namespace

SchedulerProcess::SchedulerProcess(const std::map<std::string, std::string>& env)
    : ChildProcess(requireEnv("DNSH_SCHEDULER_BIN"), {}, withDefaults(env), "scheduler") {}

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

}  // namespace dnsh::test
