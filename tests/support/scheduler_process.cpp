#include "support/scheduler_process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

SchedulerProcess::SchedulerProcess(const std::map<std::string, std::string>& env) {
    const std::string binary = requireEnv("DNSH_SCHEDULER_BIN");
    const char* logDir = std::getenv("DNSH_TEST_LOG_DIR");
    logFile_ = std::string(logDir ? logDir : "/tmp") + "/scheduler-" + randomHex(4) + ".log";
    std::map<std::string, std::string> settings{{"POLL_INTERVAL", "200ms"}, {"LOG_LEVEL", "info"}};
    for (const auto& [name, value] : env) settings[name] = value;

    // Everything the child needs is prepared before fork(): the test process has threads, and
    // between fork and exec only async-signal-safe calls (dup2, execve) are safe.
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        if (settings.count(text.substr(0, text.find('='))) == 0) environment.push_back(text);
    }
    for (const auto& [name, value] : settings) environment.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& text : environment) envp.push_back(text.data());
    envp.push_back(nullptr);
    std::string program = binary;
    char* argv[] = {program.data(), nullptr};
    const int log = ::open(logFile_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw std::runtime_error("cannot open " + logFile_);
    std::fflush(nullptr);  // or the child would repeat what the test had buffered

    pid_ = fork();
    if (pid_ == 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
        ::execve(program.c_str(), argv, envp.data());
        _exit(127);
    }
    ::close(log);
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

SchedulerProcess::~SchedulerProcess() {
    if (running()) kill9();
}

bool SchedulerProcess::running() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
}

void SchedulerProcess::kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

int SchedulerProcess::terminate() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill9();
    throw std::runtime_error("dns-scheduler did not stop within 10 s of SIGTERM");
}

std::optional<int> SchedulerProcess::exitStatusWithin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

// What a scheduler child is doing, for failure messages: its executable, state and log.
std::string describe(const SchedulerProcess& scheduler) {
    std::ostringstream out;
    const std::string proc = "/proc/" + std::to_string(scheduler.pid());
    std::error_code error;
    out << "pid " << scheduler.pid() << (scheduler.running() ? " running" : " not running")
        << ", exe " << std::filesystem::read_symlink(proc + "/exe", error).string() << ", wchan "
        << readFile(proc + "/wchan");
    std::istringstream status(readFile(proc + "/status"));
    for (std::string line; std::getline(status, line);)
        if (line.rfind("State:", 0) == 0 || line.rfind("Threads:", 0) == 0) out << ", " << line;
    const std::string log = readFile(scheduler.logFile());
    out << "\nlog " << scheduler.logFile() << " (" << log.size() << " bytes, last 2000):\n"
        << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
    return out.str();
}

// Waits for the scheduler's "scheduler started" log line (it logs it once its workers run).
void requireStarted(const SchedulerProcess& scheduler) {
    const bool started = waitFor(
        std::chrono::seconds(5),
        [&] {
            return readFile(scheduler.logFile()).find("\"scheduler started\"") != std::string::npos;
        },
        std::chrono::milliseconds(20));
    REQUIRE_MESSAGE(started, "dns-scheduler did not start within 5 s: " << describe(scheduler));
}

// A started dns-scheduler child. Flushes our output first: the child's freopen() of stdout
// would otherwise write doctest's buffered output a second time.
std::unique_ptr<SchedulerProcess> startScheduler(const std::map<std::string, std::string>& env) {
    std::cout.flush();
    std::fflush(nullptr);
    auto scheduler = std::make_unique<SchedulerProcess>(env);
    requireStarted(*scheduler);
    return scheduler;
}

}  // namespace dnsh::test
