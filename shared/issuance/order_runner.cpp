#include "issuance/order_runner.hpp"

#include <optional>
#include <type_traits>

#include "core/error.hpp"
#include "crypto/key_encryption.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/backoff.hpp"
#include "issuance/challenge_publisher.hpp"
#include "issuance/order_metrics.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

// Orders in one chain of replacements (a CA that forgot an order, an order past its expiry).
constexpr int kMaxGenerations = 3;
constexpr milliseconds kRenewalRetryCap{6 * 3'600'000};

}  // namespace

StepResult expiredOrder(const StoredOrder& order) {
    if (order.generation >= kMaxGenerations)
        return failOrder(FailureCode::Timeout, "the ACME order expired");
    return replaceOrder("acme order expired");
}

namespace {

// The step the order is in. An order past the CA's expiry cannot be finished: a fresh one (new
// values to publish), a bounded number of times. Not before finalize or await_order has read
// it: the CA may have accepted a finalize whose answer was lost and issued before the expiry,
// and that certificate is fetched, not thrown away (a second order would be issued twice).
StepResult runStep(StepContext& context) {
    const StoredOrder& order = context.order();
    if (order.expired && order.step != OrderStep::PlaceOrder &&
        order.step != OrderStep::Finalize && order.step != OrderStep::AwaitOrder)
        return expiredOrder(order);
    switch (order.step) {
        case OrderStep::PlaceOrder:
            return placeOrderStep(context);
        case OrderStep::AwaitDns:
            return awaitDnsStep(context);
        case OrderStep::AwaitAuthz:
            return awaitAuthorizationStep(context);
        case OrderStep::Finalize:
            return finalizeStep(context);
        case OrderStep::AwaitOrder:
            return awaitOrderStep(context);
        case OrderStep::Done:
            break;
    }
    return failOrder(FailureCode::Internal, "order in an unexpected step");
}

// The step, and the ones it moves on to at once (each move persisted first), up to a verdict
// that gives the order back or finishes it. Between two of them the scheduler's stop is heeded:
// await_authz, finalize and await_order back to back are three CA requests or more.
StepResult runSteps(StepContext& context) {
    StepResult result = runStep(context);
    while (const auto* next = std::get_if<step::Next>(&result)) {
        context.moveTo(next->step);
        if (next->thenWait) return *next->thenWait;
        context.stopPoint();
        result = runStep(context);
    }
    return result;
}

// README "Stopping": the scheduler is stopping and the step has stopped at a stop point, with
// nothing under way: the order goes back due at once, for whichever replica runs next, with no
// attempt counted (it did nothing wrong) and its DNS poll flag as it was.
StepOutcome givenBackOnStop(StepContext& context) {
    const StoredOrder& order = context.order();
    LogFields fields = orderFields(order);
    fields.push_back({"step", std::string(toString(order.step))});
    logEvent(LogLevel::Info, "order given back: the scheduler is stopping", fields);
    StepOutcome outcome{false, milliseconds(0), labelOf(order.step)};
    outcome.dnsPoll = order.dnsPoll;
    return outcome;
}

// Replicas may run with different configuration for a while: restarted one at a time to add a
// CA to ACME_CAS (a fallback while the first CA is down), or to turn DELEGATION_ZONE on. An order
// this one cannot advance (its CA, or the zone to publish in, is not configured here) is retried
// as a CA that did not answer is: an attempt counted, due again after the backoff (POLL_INTERVAL,
// doubled each time, at most 5 minutes), so that a replica that has the setting takes it
// meanwhile. As an unexpected error it failed after three claims here, while another replica
// could have finished it. When nobody has it any more, it ends after kMaxAttempts (about an
// hour with the default POLL_INTERVAL) or past its step's time, whichever comes first, with
// `missing`'s error_code: not a day of give-backs every POLL_INTERVAL, a warning each.
StepResult leftForAnotherReplica(const NotConfiguredHere& missing) {
    return retryLater(missing.code,
                      missing.reason + (missing.remedy.empty() ? "" : ": " + missing.remedy));
}

}  // namespace

// Applies a verdict to the order: the one place that fails, retries or replaces it.
class OrderSettlement {
public:
    explicit OrderSettlement(StepContext& context) : context_(context) {}

    StepOutcome operator()(const step::Next& next) {
        // runSteps never returns one; as a wait, should that change.
        return StepOutcome{false, milliseconds(0), labelOf(next.step)};
    }

    StepOutcome operator()(const step::Wait& wait) {
        StepOutcome outcome{false, wait.delay, wait.label};
        outcome.dnsPoll = wait.dnsPoll;
        return outcome;
    }

    StepOutcome operator()(const step::Done& done) {
        const StoredOrder& order = context_.order();
        countOrderFinished(order.kind, true, order.caDirectory);
        context_.parts().publishers.of(order).cleanUp(order);
        LogFields fields = orderFields(order);
        fields.insert(fields.end(), done.certificate.begin(), done.certificate.end());
        logEvent(LogLevel::Info,
                 order.kind == OrderKind::Renewal ? "certificate renewed" : "certificate stored",
                 fields);
        return StepOutcome{true, milliseconds(0), StepLabel::Valid};
    }

    StepOutcome operator()(const step::Fail& failure) { return failWith(failure, std::nullopt); }

    StepOutcome operator()(const step::Retry& retry) {
        const StepOutcome outcome = retryOrFail(retry);
        // After a failure the order is no longer ours: failWith recorded the check already.
        if (retry.check && !outcome.finished) context_.recordCheck(*retry.check, outcome.delay);
        return outcome;
    }

    StepOutcome operator()(const step::Replace& replacement) {
        const StoredOrder& order = context_.order();
        const std::string next = context_.replace();
        context_.parts().publishers.of(order).cleanUp(order);
        LogFields fields = orderFields(order);
        fields.insert(fields.end(), {{"reason", replacement.why}, {"new_order_id", next}});
        logEvent(LogLevel::Warn, "order replaced by a fresh one", fields);
        return StepOutcome{true, milliseconds(0), StepLabel::Replaced};
    }

private:
    // `lastCheck`: the domain's check that led to it, recorded in the failure's transaction.
    StepOutcome failWith(const step::Fail& failure, const std::optional<std::string>& lastCheck) {
        StoredOrder& order = context_.order();
        const Config& config = context_.config();
        const auto retryIn = failure.renewalRetry.value_or(
            retryDelay(config.pollInterval, order.renewalFailures + 1, {}, kRenewalRetryCap));
        context_.fail(failure.reason, failure.code, retryIn, lastCheck);
        countOrderFinished(order.kind, false, order.caDirectory);
        // RFC 8555 §7.5.2: an order nobody will finish gives back its authorizations still
        // pending (those no other domain needs, authorization_release.hpp); its domain is still
        // registered, and the valid ones spare its next order a new value (an order that got
        // to finalize has only valid ones). Not when the CA itself could not be reached.
        if (failure.code != FailureCode::CaUnreachable) {
            if (AcmeAccount* account = context_.parts().cas.find(order.caDirectory)) {
                const LogFields fields = orderFields(order);
                giveBackAuthorizations(
                    context_.parts().database, *account, order.domainId, order.domainName,
                    stillPending(*account, heldAuthorizations(order.challenges), fields), fields);
            }
        }
        context_.parts().publishers.of(order).cleanUp(order);
        LogFields fields = orderFields(order);
        fields.insert(fields.end(), {{"reason", failure.reason},
                                     {"error_code", std::string(toString(failure.code))}});
        logEvent(LogLevel::Warn,
                 order.kind == OrderKind::Renewal ? "certificate renewal failed"
                                                  : "certificate issuance failed",
                 fields);
        return StepOutcome{true, milliseconds(0), StepLabel::Failed};
    }

    StepOutcome retryOrFail(const step::Retry& retry) {
        const StoredOrder& order = context_.order();
        const Config& config = context_.config();
        const int attempts = context_.recordAttempt();
        const RetryVerdict verdict = retryVerdict(retry.code, retry.retryable, attempts,
                                                  pastStepTimeout(order, config));
        if (!verdict.again) {
            return failWith(step::Fail{retry.code, retry.reason, std::nullopt}, retry.check);
        }
        // Backoff in database time: the delay becomes the order's next_attempt_at. The CA's
        // Retry-After is honoured up to an hour, a day for its rate limits (issuance/backoff.hpp).
        const auto delay = retryDelay(config.pollInterval, attempts, retry.retryAfter,
                                      std::chrono::minutes(5), verdict.retryAfterKind);
        LogFields fields = orderFields(order);
        fields.insert(fields.end(), {{"detail", retry.reason},
                                     {"attempts", attempts},
                                     {"delay_ms", static_cast<Poco::Int64>(delay.count())}});
        if (retry.retryAfter)
            fields.insert(fields.end(),
                          {{"retry_after_s", static_cast<Poco::Int64>(retry.retryAfter->count())}});
        logEvent(LogLevel::Warn, "order step will be retried", fields);
        return StepOutcome{false, delay, labelOf(order.step)};
    }

    StepContext& context_;
};

namespace {

// What an exception thrown by a step means for the order.
StepResult verdictOf(StepContext& context) {
    try {
        throw;
    } catch (const Error& e) {
        // The database timed out, went away, takes no writes or is short of disk or memory
        // (Database::withSession): no attempt is counted against the order (it did nothing
        // wrong); the worker gives it back for the next poll.
        if (e.fromDatabase()) throw;
        return retryLater(FailureCode::Internal, "internal error: " + errorDetail(e), false);
    } catch (const acme::AcmeError& e) {
        // The CA no longer knows the order (restarted, purged): a fresh one, never a loop.
        const StoredOrder& order = context.order();
        if (e.problem().status == 404 && !order.orderUrl.empty() &&
            order.generation < kMaxGenerations)
            return replaceOrder("acme order unknown to the CA");
        return retryLater(failureCodeOf(e), e.what(), e.retryable(), e.retryAfter());
    } catch (const KeyFileError&) {
        // README "Secrets": a KEK file that became unusable while the scheduler runs (a
        // rotation's kek.next left 0644, or root's) is the operator's to fix, not the order's
        // fault: as when the database is away, no attempt is counted and the order waits (the
        // worker logs why at each try). Counted, every order needing a key ended failed.
        throw;
    } catch (const std::exception& e) {
        // A key that no longer decrypts, the database refusing a write (a constraint, a
        // trigger; not a full disk, above): counted like any other error, so it ends in failed
        // instead of retrying forever. (A CA's download that is no chain is the CA's error:
        // acme/certificate_chain.hpp.)
        return retryLater(FailureCode::Internal, "internal error: " + errorDetail(e), false);
    }
}

}  // namespace

StepOutcome runOrder(EngineParts& parts, const std::string& orderId, const std::string& owner,
                     std::chrono::steady_clock::time_point claimedAt) {
    StepContext context(parts, orderId, owner, claimedAt);
    const auto started = std::chrono::steady_clock::now();
    const OrderStep step = context.order().step;
    OrderSettlement settle(context);
    StepOutcome outcome = [&] {
        try {
            return std::visit(settle, runSteps(context));
        } catch (const StopRequested&) {
            return givenBackOnStop(context);
        } catch (const NotConfiguredHere& missing) {
            return std::visit(settle, leftForAnotherReplica(missing));
        } catch (const LeaseLost&) {
            throw;
        } catch (const std::exception&) {
            return std::visit(settle, verdictOf(context));
        }
    }();
    observeOrderStep(step, started);
    outcome.domainId = context.order().domainId;
    return outcome;
}

}  // namespace dnsh
