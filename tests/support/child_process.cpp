#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "crypto/random.hpp"
#include "support/domain_flows.hpp"
#include "support/spawn_env.hpp"

namespace dnsh::test {

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& arguments,
                           const std::map<std::string, std::string>& env,
                           const std::string& logName)
    : name_(logName) {
    const char* logDir = std::getenv("DNSH_TEST_LOG_DIR");
    logFile_ = std::string(logDir ? logDir : "/tmp") + "/" + logName + "-" + randomHex(4) + ".log";

    // Everything the child needs is prepared before fork(): the test process has threads, and
    // between fork and exec only async-signal-safe calls (dup2, execve) are safe.
    SpawnEnvironment environment(env);
    SpawnArguments command(program, arguments);
    const int log = ::open(logFile_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw std::runtime_error("cannot open " + logFile_);
    std::cout.flush();
    std::fflush(nullptr);  // or the child would repeat what the test had buffered

    pid_ = fork();
    if (pid_ == 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
        ::execve(command.program(), command.argv(), environment.envp());
        _exit(127);
    }
    ::close(log);
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

ChildProcess::~ChildProcess() {
    if (running()) kill9();
}

bool ChildProcess::running() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
}

void ChildProcess::kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

int ChildProcess::terminate() {
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
    throw std::runtime_error(name_ + " did not stop within 10 s of SIGTERM");
}

std::optional<int> ChildProcess::exitStatusWithin(std::chrono::milliseconds timeout) {
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

std::string ChildProcess::log() const {
    return readFile(logFile_);
}

std::string describe(const ChildProcess& child) {
    std::ostringstream out;
    const std::string proc = "/proc/" + std::to_string(child.pid());
    std::error_code error;
    out << "pid " << child.pid() << (child.running() ? " running" : " not running") << ", exe "
        << std::filesystem::read_symlink(proc + "/exe", error).string() << ", wchan "
        << readFile(proc + "/wchan");
    std::istringstream status(readFile(proc + "/status"));
    for (std::string line; std::getline(status, line);)
        if (line.rfind("State:", 0) == 0 || line.rfind("Threads:", 0) == 0) out << ", " << line;
    const std::string log = child.log();
    out << "\nlog " << child.logFile() << " (" << log.size() << " bytes, last 2000):\n"
        << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
    return out.str();
}

}  // namespace dnsh::test
