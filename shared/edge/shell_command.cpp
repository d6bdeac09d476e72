#include "edge/shell_command.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace dnsh {

ShellRun runShellCommand(const std::string& command, std::chrono::milliseconds timeout) {
    using std::chrono::milliseconds;
    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    sigset_t defaults;
    ::sigemptyset(&defaults);
    for (const int number : {SIGPIPE, SIGTERM, SIGINT}) ::sigaddset(&defaults, number);
    sigset_t noneBlocked;
    ::sigemptyset(&noneBlocked);
    ::posix_spawnattr_setsigdefault(&attributes, &defaults);
    ::posix_spawnattr_setsigmask(&attributes, &noneBlocked);
    ::posix_spawnattr_setpgroup(&attributes, 0);  // its own group: a timeout kills all it started
    ::posix_spawnattr_setflags(
        &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::string shell = "sh";
    std::string option = "-c";
    std::string text = command;
    char* arguments[] = {shell.data(), option.data(), text.data(), nullptr};
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, "/bin/sh", nullptr, &attributes, arguments, environ);
    ::posix_spawnattr_destroy(&attributes);
    ShellRun run;
    if (spawned != 0) {
        run.detail = std::strerror(spawned);
        return run;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    milliseconds pause{1};
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) {
            run.outcome = ShellOutcome::Failed;
            run.detail = std::strerror(errno);
            return run;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(-pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            run.outcome = ShellOutcome::TimedOut;
            return run;
        }
        std::this_thread::sleep_for(pause);  // short at first: a reload takes milliseconds
        pause = std::min(pause * 2, milliseconds(100));
    }
    run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.outcome = run.exitCode == 0 ? ShellOutcome::Succeeded : ShellOutcome::Failed;
    return run;
}

}  // namespace dnsh
