#pragma once
// A dns-scheduler child process for end-to-end tests: started with the test environment plus
// overrides (POLL_INTERVAL=200ms by default; a SCHEDULER_LEASE the stack's DNS_TIMEOUT does not
// fit, with no DNS_TIMEOUT of its own, leaves DNS_TIMEOUT unset so that its default fits), killed
// with -9 on destruction if still running.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/scratch_database.hpp"

namespace dnsh::test {

class SchedulerProcess : public ChildProcess {
public:
    explicit SchedulerProcess(const std::map<std::string, std::string>& env = {});
    // Run through `wrapper`, a command that runs the program named after its own arguments
    // (e.g. "/usr/bin/unshare", "--pid", "--fork", "--kill-child"): the signals go to it.
    SchedulerProcess(const std::map<std::string, std::string>& env,
                     const std::vector<std::string>& wrapper);
};

// Waits for the scheduler's "scheduler started" log line (the case stops if it does not come).
void requireStarted(const SchedulerProcess& scheduler);

// A started dns-scheduler child (see SchedulerProcess), once its workers run.
std::unique_ptr<SchedulerProcess> startScheduler(
    const std::map<std::string, std::string>& env = {});

// Whether the scheduler logged a step of the order.
bool stepLogged(const SchedulerProcess& scheduler, const std::string& orderId);

// A customer's issue order due now in `database` (a certificate_pending domain named after
// `label`, its order at place_order): its id.
std::string insertDueIssueOrder(ScratchDatabase& database, const std::string& label);

}  // namespace dnsh::test
