#pragma once
// What one step of an order decided, as a value: a step never calls another step, never fails,
// retries or replaces the order itself; the order runner (order_runner.hpp) applies the verdict.
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "core/failure_code.hpp"
#include "issuance/order_step.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace step {

// Give the order back; its next attempt `delay` from now. A DNS poll (`dnsPoll`: the values were
// not visible yet) may be brought forward by POST .../check; a wait after an error may not.
struct Wait {
    std::chrono::milliseconds delay;
    StepLabel label;
    bool dnsPoll;
};

// The order moves on to `step` (persisted by the runner): at once, or after `thenWait`.
struct Next {
    OrderStep step;
    std::optional<Wait> thenWait;
};

// The certificate is stored; `certificate`: its fields for the log line.
struct Done {
    LogFields certificate;
};

// The order cannot succeed. `renewalRetry`: when a failed renewal is tried again (default: the
// backoff of its failures in a row).
struct Fail {
    FailureCode code;
    std::string reason;
    std::optional<std::chrono::milliseconds> renewalRetry;
};

// An error: tried again (`retryable` errors until the step's time runs out, pastStepTimeout,
// or a number of attempts; unexpected ones a few times), else failed. `retryAfter`: the CA's.
// `check`, when set, is the domain's check (last_check: txtCheckJson) to record with the
// verdict: its next_check_at the next attempt's delay from now, or, when the order failed, none;
// then it goes with the failure, written in the same transaction, since the order is no longer
// the runner's after it.
struct Retry {
    FailureCode code;
    std::string reason;
    bool retryable;
    std::optional<std::chrono::seconds> retryAfter;
    std::optional<std::string> check;
};

// The order cannot be finished (the CA forgot it, it expired): a fresh one takes its place.
struct Replace {
    std::string why;
};

}  // namespace step

using StepResult =
    std::variant<step::Next, step::Wait, step::Done, step::Fail, step::Retry, step::Replace>;

inline StepResult moveOn(OrderStep next) {
    return step::Next{next, std::nullopt};
}
inline StepResult moveOnAfter(OrderStep next, std::chrono::milliseconds delay, StepLabel label) {
    return step::Next{next, step::Wait{delay, label, false}};
}
inline StepResult pauseFor(std::chrono::milliseconds delay, StepLabel label) {
    return step::Wait{delay, label, false};
}
inline StepResult pollDnsAgain(std::chrono::milliseconds delay) {
    return step::Wait{delay, StepLabel::AwaitDns, true};
}
inline StepResult failOrder(FailureCode code, std::string reason,
                            std::optional<std::chrono::milliseconds> renewalRetry = std::nullopt) {
    return step::Fail{code, std::move(reason), renewalRetry};
}
inline StepResult retryLater(FailureCode code, std::string reason, bool retryable = true,
                             std::optional<std::chrono::seconds> retryAfter = std::nullopt) {
    return step::Retry{code, std::move(reason), retryable, retryAfter, std::nullopt};
}
inline StepResult replaceOrder(std::string why) {
    return step::Replace{std::move(why)};
}

}  // namespace dnsh
