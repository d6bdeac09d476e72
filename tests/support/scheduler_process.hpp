#pragma once
// A dns-scheduler child process for end-to-end tests: started with the test environment plus
// overrides (POLL_INTERVAL=200ms by default), killed with -9 on destruction if still running.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace dnsh::test {

class SchedulerProcess {
public:
    explicit SchedulerProcess(const std::map<std::string, std::string>& env = {});
    ~SchedulerProcess();
    SchedulerProcess(const SchedulerProcess&) = delete;
    SchedulerProcess& operator=(const SchedulerProcess&) = delete;

    int pid() const { return pid_; }
    bool running() const;
    void kill9();     // as a crash would
    int terminate();  // SIGTERM, then the exit status
    // The exit status once it has exited by itself within `timeout`; nothing while it runs.
    std::optional<int> exitStatusWithin(std::chrono::milliseconds timeout);
    const std::string& logFile() const { return logFile_; }

private:
    int pid_ = -1;
    std::string logFile_;
};

// What a scheduler child is doing, for failure messages: its executable, state and log.
std::string describe(const SchedulerProcess& scheduler);

// Waits for the scheduler's "scheduler started" log line (the case stops if it does not come).
void requireStarted(const SchedulerProcess& scheduler);

// A started dns-scheduler child (see SchedulerProcess), once its workers run.
std::unique_ptr<SchedulerProcess> startScheduler(
    const std::map<std::string, std::string>& env = {});

}  // namespace dnsh::test
