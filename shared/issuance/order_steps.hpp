#pragma once
// The steps of an order (README "How issuance and renewal work"), one file each. A step works on the
// claimed order through its context and returns what it decided (step_result.hpp); it throws
// what it cannot judge (a CA error, the database), which the order runner turns into a verdict.
#include <chrono>
#include <optional>
#include <string>

#include "issuance/step_context.hpp"
#include "issuance/step_result.hpp"

namespace dnsh {

// How soon the CA is asked again while it validates or issues.
inline constexpr std::chrono::milliseconds kCaPollDelay{250};

// The CA is still at work on the order (validating, making it ready, issuing): asked again after
// kCaPollDelay or its Retry-After, at most POLL_INTERVAL (caPollDelay); past POLL_TIMEOUT in this
// step the order fails `timeout`, "the CA did not <notDone> within <POLL_TIMEOUT>".
StepResult waitForCa(StepContext& context, std::optional<std::chrono::seconds> retryAfter,
                     StepLabel label, const std::string& notDone);

// Renewals and replacements: newOrder (a delegated renewal first checks its CNAME).
StepResult placeOrderStep(StepContext& context);
// The values published (by the service, for a delegated order) and visible: the challenges
// answered.
StepResult awaitDnsStep(StepContext& context);
// The CA validates the challenges.
StepResult awaitAuthorizationStep(StepContext& context);
// The certificate key persisted, the CSR sent.
StepResult finalizeStep(StepContext& context);
// The CA issues; the certificate downloaded and stored.
StepResult awaitOrderStep(StepContext& context);

}  // namespace dnsh
