#include "edge/edge_reloader.hpp"

#include <algorithm>

#include "edge/shell_command.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After EDGE_RELOAD_COMMAND failed or hung, the next try waits twice as long, up to this.
constexpr milliseconds kLastReloadBackoff{300'000};

}  // namespace

EdgeReloader::EdgeReloader(const EdgeSettings& settings, EdgeDirectory& directory)
    : settings_(settings), directory_(directory) {}

std::optional<Clock::time_point> EdgeReloader::dueAt() const {
    if (settings_.reloadCommand.empty() || !directory_.reloadDue()) return std::nullopt;
    return nextReload_;
}

void EdgeReloader::runIfDue() {
    const auto at = dueAt();
    if (!at || Clock::now() < *at) return;
    milliseconds wait = settings_.reloadMinInterval;
    if (runCommand()) {
        reloadFailures_ = 0;
    } else {
        // Still due. A command that hangs holds the agent up to EDGE_RELOAD_TIMEOUT each time:
        // rarer tries leave it delivering most of the time.
        reloadFailures_ = std::min(reloadFailures_ + 1, 16);
        for (int i = 1; i < reloadFailures_ && wait < kLastReloadBackoff; ++i) wait *= 2;
        wait = std::max(settings_.reloadMinInterval, std::min(wait, kLastReloadBackoff));
    }
    nextReload_ = Clock::now() + wait;
}

// EDGE_RELOAD_TIMEOUT at most (edge/shell_command.hpp): a hung command froze the agent.
bool EdgeReloader::runCommand() {
    // The agent's environment, without the secrets (tools/edge_sync.cpp unset them).
    const ShellRun run = runShellCommand(settings_.reloadCommand, settings_.reloadTimeout);
    switch (run.outcome) {
        case ShellOutcome::NotStarted:
            logEvent(LogLevel::Error, "EDGE_RELOAD_COMMAND did not start",
                     {{"detail", run.detail}});
            return false;
        case ShellOutcome::TimedOut:
            logEvent(LogLevel::Error, "EDGE_RELOAD_COMMAND timed out, killed",
                     {{"timeout_ms", static_cast<long long>(settings_.reloadTimeout.count())}});
            return false;
        case ShellOutcome::Succeeded:
            directory_.reloaded();  // until then, it stays due
            break;
        case ShellOutcome::Failed:
            if (!run.detail.empty()) {  // waitpid() failed: its exit status is not known
                logEvent(LogLevel::Error, "EDGE_RELOAD_COMMAND not waited for",
                         {{"detail", run.detail}});
                return false;
            }
            break;
    }
    logEvent(run.outcome == ShellOutcome::Succeeded ? LogLevel::Info : LogLevel::Error,
             "EDGE_RELOAD_COMMAND ran", {{"exit_code", run.exitCode}});
    return run.outcome == ShellOutcome::Succeeded;
}

}  // namespace dnsh
