#include "support/reader_gone.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "support/domain_flows.hpp"
#include "support/spawn_env.hpp"

namespace dnsh::test {

ReaderGoneRun runWithReaderGone(const std::string& program,
                                const std::vector<std::string>& arguments,
                                const std::map<std::string, std::string>& env,
                                StartingSigpipe sigpipe, std::chrono::seconds timeout) {
    const TempDir scratch;
    const std::string errorsFile = scratch.path() + "/stderr";

    // Everything the child needs is prepared before fork(), as in ChildProcess: the test
    // process has threads, and between fork and exec only async-signal-safe calls are safe.
    SpawnEnvironment environment(env);
    SpawnArguments command(program, arguments);
    struct sigaction startingAction {};
    startingAction.sa_handler = sigpipe == StartingSigpipe::Ignored ? SIG_IGN : SIG_DFL;
    ::sigemptyset(&startingAction.sa_mask);
    sigset_t sigpipeOnly;
    ::sigemptyset(&sigpipeOnly);
    ::sigaddset(&sigpipeOnly, SIGPIPE);

    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const int writeEnd = ends[1];
    ::close(ends[0]);  // the reader gone before the program writes anything
    const int errors =
        ::open(errorsFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (errors < 0) {
        ::close(writeEnd);
        throw std::runtime_error("cannot open " + errorsFile);
    }
    std::cout.flush();
    std::fflush(nullptr);  // or the child would repeat what the test had buffered

    const pid_t pid = ::fork();
    if (pid == 0) {
        // Neither the test's disposition nor a blocked SIGPIPE of its thread is inherited.
        ::sigaction(SIGPIPE, &startingAction, nullptr);
        ::sigprocmask(SIG_UNBLOCK, &sigpipeOnly, nullptr);
        ::dup2(writeEnd, STDOUT_FILENO);
        ::dup2(errors, STDERR_FILENO);
        ::execve(command.program(), command.argv(), environment.envp());
        _exit(127);
    }
    ::close(writeEnd);
    ::close(errors);
    if (pid < 0) throw std::runtime_error("fork failed");

    ReaderGoneRun run;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (done < 0 && errno != EINTR) break;  // not ours to wait for: -1
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    run.errors = readFile(errorsFile);
    return run;
}

}  // namespace dnsh::test
