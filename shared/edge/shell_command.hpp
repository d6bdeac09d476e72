#pragma once
// A shell command run with a deadline (EDGE_RELOAD_COMMAND): through /bin/sh -c as system(3)
// runs it, but in a process group of its own, killed whole when the deadline passes, so a hung
// command cannot hold the agent (its deliveries, its heartbeat) for ever.
#include <chrono>
#include <string>

namespace dnsh {

enum class ShellOutcome { Succeeded, Failed, NotStarted, TimedOut };

struct ShellRun {
    ShellOutcome outcome = ShellOutcome::NotStarted;
    int exitCode = -1;   // Succeeded or Failed: its exit status, -1 when a signal ended it
    std::string detail;  // NotStarted, or Failed without an exit status: why (strerror)
};

// Runs `command` with the process's environment and SIGPIPE, SIGTERM and SIGINT at their
// defaults (the agent ignores or handles them), waiting at most `timeout`.
ShellRun runShellCommand(const std::string& command, std::chrono::milliseconds timeout);

}  // namespace dnsh
