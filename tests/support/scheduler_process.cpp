#include "support/scheduler_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

SchedulerProcess::SchedulerProcess(const std::map<std::string, std::string>& env) {
    const std::string binary = requireEnv("DNSH_SCHEDULER_BIN");
    const char* logDir = std::getenv("DNSH_TEST_LOG_DIR");
    logFile_ = std::string(logDir ? logDir : "/tmp") + "/scheduler-" + randomHex(4) + ".log";
    std::map<std::string, std::string> settings{{"POLL_INTERVAL", "200ms"}, {"LOG_LEVEL", "info"}};
    for (const auto& [name, value] : env) settings[name] = value;

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        for (const auto& [name, value] : settings) setenv(name.c_str(), value.c_str(), 1);
        if (!freopen(logFile_.c_str(), "a", stderr) || !freopen(logFile_.c_str(), "a", stdout)) _exit(126);
        execl(binary.c_str(), binary.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
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

}  // namespace dnsh::test
