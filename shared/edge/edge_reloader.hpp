#pragma once
// EDGE_RELOAD_COMMAND, for a terminator that reads its files only when it starts or reloads
// (README, "Certificates on the TLS terminators"): run once the directory says a reload is due,
// EDGE_RELOAD_MIN_INTERVAL apart, and less often while it fails or hangs.
#include <chrono>
#include <optional>

#include "config/edge_config.hpp"
#include "edge/edge_directory.hpp"

namespace dnsh {

class EdgeReloader {
public:
    EdgeReloader(const EdgeSettings& settings, EdgeDirectory& directory);

    // When the due reload may run (EDGE_RELOAD_MIN_INTERVAL after the last one ended, longer
    // after failures); none while none is due or there is no EDGE_RELOAD_COMMAND.
    std::optional<std::chrono::steady_clock::time_point> dueAt() const;
    // Runs EDGE_RELOAD_COMMAND once that time has come.
    void runIfDue();

private:
    bool runCommand();  // whether it exited 0 within EDGE_RELOAD_TIMEOUT

    const EdgeSettings& settings_;
    EdgeDirectory& directory_;
    std::chrono::steady_clock::time_point nextReload_{};  // EDGE_RELOAD_MIN_INTERVAL apart
    int reloadFailures_ = 0;                               // in a row
};

}  // namespace dnsh
