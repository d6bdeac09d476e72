#pragma once
// A program of the stack run as a child of a test (dns-scheduler, dnsh-edge-sync, haproxy,
// nginx): the test's environment plus overrides, stdout and stderr into a log file of its own,
// killed with -9 on destruction if still running.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dnsh::test {

class ChildProcess {
public:
    // `logName`: the log file's prefix (under DNSH_TEST_LOG_DIR, else /tmp).
    ChildProcess(const std::string& program, const std::vector<std::string>& arguments,
                 const std::map<std::string, std::string>& env, const std::string& logName);
    virtual ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    int pid() const { return pid_; }
    bool running() const;
    void kill9();     // as a crash would
    int terminate();  // SIGTERM, then the exit status
    // The exit status once it has exited by itself within `timeout`; nothing while it runs.
    std::optional<int> exitStatusWithin(std::chrono::milliseconds timeout);
    const std::string& logFile() const { return logFile_; }
    std::string log() const;

private:
    int pid_ = -1;
    std::string logFile_;
    std::string name_;
};

// What a child is doing, for failure messages: its executable, state and log.
std::string describe(const ChildProcess& child);

}  // namespace dnsh::test
