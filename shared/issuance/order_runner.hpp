#pragma once
// Runs one scheduler turn of a claimed order: its step (and the steps it moves on to at once),
// then applies what they decided. The one place that fails, retries or replaces an order, counts
// its metrics and cleans up after it.
#include <chrono>
#include <string>

#include "issuance/order_step.hpp"
#include "issuance/step_context.hpp"

namespace dnsh {

// What one scheduler turn decided: come back after `delay`, or the order is done (valid,
// failed or replaced).
struct StepOutcome {
    StepOutcome(bool finishedNow, std::chrono::milliseconds retryIn, StepLabel label)
        : finished(finishedNow), delay(retryIn), step(label) {}

    bool finished = false;
    std::chrono::milliseconds delay{0};
    StepLabel step;        // for the log
    std::string domainId;  // for the log
    // The next attempt is a DNS poll (the values were not visible yet), which POST .../check
    // may bring forward; not a backoff after an error, which nothing brings forward.
    bool dnsPoll = false;
};

// One turn of the order `owner` claimed (for SCHEDULER_LEASE) at `claimedAt`. Throws LeaseLost
// when another replica owns it now, and a database timeout or outage, or a KEK file that cannot
// be used (KeyFileError), as it is (the order did nothing wrong; the worker gives it back).
StepOutcome runOrder(EngineParts& parts, const std::string& orderId, const std::string& owner,
                     std::chrono::steady_clock::time_point claimedAt);

}  // namespace dnsh
