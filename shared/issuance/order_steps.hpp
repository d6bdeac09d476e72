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

// The longest an order the CA is issuing (await_order, RFC 8555 §7.4) is waited on, from the
// step's start, when its own expiry is later: some CAs give an order weeks (§7.1.3 sets no bound),
// and the domain would stay certificate_pending that long. A day covers a CA that says so
// (ZeroSSL's Retry-After: 86400 on a processing order); POLL_TIMEOUT if that is longer.
inline constexpr std::chrono::hours kMaxIssuingWait{24};

// How long the order's step may take: POLL_TIMEOUT, except in await_order when the CA gave the
// order an expiry: then kMaxIssuingWait (at least POLL_TIMEOUT), and the expiry, past which
// awaitOrderStep replaces it. Once finalize is accepted the CA issues when it is done, and some
// take hours; failing the order at POLL_TIMEOUT threw away a certificate the CA issued anyway.
std::chrono::milliseconds stepTimeLimit(const StoredOrder& order, const Config& config);

// Whether the order's step has run out of time (stepTimeLimit).
bool pastStepTimeout(const StoredOrder& order, const Config& config);

// The CA is still at work on the order (validating, making it ready, issuing): asked again after
// kCaPollDelay or its Retry-After, at most POLL_INTERVAL (caPollDelay); in await_order past
// POLL_TIMEOUT, after its Retry-After up to an hour, at least POLL_INTERVAL (issuingPollDelay).
// Past the step's time (pastStepTimeout) the order fails `timeout`, "the CA did not <notDone>
// within <stepTimeLimit>".
StepResult waitForCa(StepContext& context, std::optional<std::chrono::seconds> retryAfter,
                     StepLabel label, const std::string& notDone);

// An order past the expiry the CA gave it (RFC 8555 §7.1.3; §7.1.6: it is then invalid): a
// fresh one takes its place, at most a few in a chain, then it fails `timeout`.
StepResult expiredOrder(const StoredOrder& order);

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
