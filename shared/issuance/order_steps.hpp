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

// Whether the order's step has run out of time: POLL_TIMEOUT in the step, except in await_order
// when the CA gave the order an expiry, which is then the only bound (runStep replaces an order
// past it). RFC 8555 §7.4: once finalize is accepted the CA issues when it is done, and some
// take hours (ZeroSSL answers Retry-After up to a day on a processing order); failing the order
// then throws away a certificate the CA issues anyway.
bool pastStepTimeout(const StoredOrder& order, const Config& config);

// The CA is still at work on the order (validating, making it ready, issuing): asked again after
// kCaPollDelay or its Retry-After, at most POLL_INTERVAL (caPollDelay); past the step's time
// (pastStepTimeout) the order fails `timeout`, "the CA did not <notDone> within <POLL_TIMEOUT>".
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
