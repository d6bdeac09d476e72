#include <algorithm>
#include <set>

#include "config/duration.hpp"
#include "dns/precheck.hpp"
#include "dns/txt_check.hpp"
#include "issuance/challenge_publisher.hpp"
#include "issuance/order_steps.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

// A renewal waiting for its customer past POLL_TIMEOUT polls less often; POST .../check is there
// for "I have just published it".
constexpr milliseconds kSlowDnsPoll{300'000};

// How often a renewal past POLL_TIMEOUT looks at its customer's DNS again.
milliseconds slowDnsPoll(const Config& config) {
    return std::max(config.pollInterval, kSlowDnsPoll);
}

// The challenge of the type the order answers (dns-01 or dns-persist-01) in the CA's current
// view of the authorization.
const acme::Challenge* findChallenge(const acme::Authorization& authorization,
                                     ChallengeMethod method) {
    for (const auto& challenge : authorization.challenges)
        if (challenge.type == toString(method)) return &challenge;
    return nullptr;
}

std::vector<std::string> expectedValues(const std::vector<OrderChallenge>& challenges,
                                        const std::string& name) {
    std::vector<std::string> values;
    for (const auto& challenge : challenges)
        if (challenge.needsPublishing() && challenge.txtName == name)
            values.push_back(challenge.txtValue);
    return values;
}

// dns-persist-01 challenges only (draft-ietf-acme-dns-persist-00 §4.1.2): the customer's record
// was seen usable when the order was placed; nothing to publish or wait for.
bool nothingToPublish(const StoredOrder& order) {
    return std::none_of(order.challenges.begin(), order.challenges.end(),
                        [](const OrderChallenge& challenge) { return challenge.needsPublishing(); });
}

// Every name's values as the customer's nameservers (or the resolver) show them; the first
// check that did not pass, else the last one.
TxtCheck checkValues(StepContext& context) {
    const Config& config = context.config();
    const StoredOrder& order = context.order();
    std::set<std::string> names;
    for (const auto& challenge : order.challenges)
        if (challenge.needsPublishing()) names.insert(challenge.txtName);
    // The customer's nameservers are asked within a deadline well inside the lease (extended
    // first when less than twice the deadline is left of it), so the order stays ours meanwhile.
    const milliseconds budget = precheckBudget(config.leaseDuration);
    context.keepLeaseFor(budget);
    const PrecheckLimits limits{std::chrono::steady_clock::now() + budget, config.precheckAllow};
    TxtCheck check;
    for (const auto& name : names) {
        check = precheckTxt(config.dnsPrecheck, context.parts().resolver, name,
                            expectedValues(order.challenges, name), limits,
                            config.delegationZone);
        if (!check.passed()) break;
    }
    return check;
}

// Pebble (and real CAs) mark the authorization invalid on one failed lookup, so answer only
// once our own lookup sees every value (RFC 8555 §8.2 retries are optional). A challenge
// already processing or valid (answered before a crash) is not answered again. A dns-persist-01
// challenge is answered with the same POST {} (draft §3.1, RFC 8555 §7.5.1).
StepResult answerChallenges(StepContext& context) {
    for (const auto& challenge : context.order().challenges) {
        const acme::Authorization authorization = context.ca(
            [&] { return context.client().getAuthorization(challenge.authorizationUrl); });
        // Valid, or already being validated (answered before a restart): nothing to answer.
        if (authorization.status == acme::AuthorizationStatus::Valid ||
            authorization.status == acme::AuthorizationStatus::Processing)
            continue;
        if (authorization.status != acme::AuthorizationStatus::Pending)
            return failOrder(FailureCode::CaInvalid,
                             "the CA's authorization is " +
                                 std::string(acme::toString(authorization.status)) +
                                 (authorization.error.empty() ? "" : ": " + authorization.error));
        const acme::Challenge* current = findChallenge(authorization, challenge.method);
        if (current != nullptr && current->status == acme::ChallengeStatus::Pending)
            context.ca([&] { return context.client().respondChallenge(challenge.challengeUrl); });
    }
    return moveOnAfter(OrderStep::AwaitAuthz, kCaPollDelay, StepLabel::AnsweredChallenges);
}

// A renewal waits for its customer until the CA's order expires, so a nameserver that did not
// answer in time (one lost packet will do) neither fails it nor counts as an attempt: it is a DNS
// poll like any other, so the CA's part still gets its own POLL_TIMEOUT once the values are
// seen. Looked at again at the slow pace, a silent zone costs a worker one precheck deadline per
// 5 minutes, no more than the backoff would.
StepResult lookAgainAfterTimeout(StepContext& context, const TxtCheck& check) {
    const milliseconds next = slowDnsPoll(context.config());
    context.recordCheck(txtCheckJson(check), next);
    return pollDnsAgain(next);
}

}  // namespace

StepResult awaitDnsStep(StepContext& context) {
    const Config& config = context.config();
    StoredOrder& order = context.order();
    if (order.challenges.empty())
        return failOrder(FailureCode::Internal, "order has no challenge to answer");
    if (nothingToPublish(order)) return answerChallenges(context);
    if (auto stopped = context.parts().publishers.of(order).present(context))
        return std::move(*stopped);
    // What is recorded is shown in the domain view: the verification token the customer may
    // still have at the name is masked, after the result is computed (so it decides nothing).
    const TxtCheck check =
        redacted(checkValues(context), order.verificationToken, kTokenPlaceholder);
    // Nameservers that do not answer in time cost a worker for the whole deadline: for an issue
    // order each such look counts as an attempt, and the next one waits a backoff (the order
    // fails after its attempts or POLL_TIMEOUT), so a silent zone cannot keep the scheduler busy.
    // The check is recorded with the next attempt the runner decides on.
    if (config.dnsPrecheck == DnsPrecheck::Authoritative && check.failure == FailureCode::DnsTimeout) {
        if (order.kind == OrderKind::Renewal) return lookAgainAfterTimeout(context, check);
        return step::Retry{FailureCode::DnsTimeout,
                           "TXT values not checked: " + check.description, true, std::nullopt,
                           txtCheckJson(check)};
    }
    // Not visible yet: issuance fails at POLL_TIMEOUT; a renewal keeps waiting for its customer
    // (more slowly) until the CA's order expires, while the current certificate is still served.
    const bool pastPollTimeout = order.stepAgeMs >= config.pollTimeout.count();
    const bool giveUp = !check.passed() && order.kind == OrderKind::Issue && pastPollTimeout;
    std::optional<milliseconds> next;
    if (!check.passed() && !giveUp)
        next = pastPollTimeout ? slowDnsPoll(config) : config.pollInterval;
    context.recordCheck(txtCheckJson(check), next);
    if (giveUp)
        return failOrder(*check.failure,
                         "TXT values not visible within " + formatDuration(config.pollTimeout) +
                             ": " + check.description);
    if (next) return pollDnsAgain(*next);
    // A renewal may wait days for its customer's DNS; that wait is not the CA's. When the values
    // are seen after such a wait (the last turn was a DNS poll), POLL_TIMEOUT starts again for
    // the CA's part, once per step: a CA that stays down still fails at POLL_TIMEOUT, even when a
    // look that timed out (lookAgainAfterTimeout, a DNS poll too) or values that dropped out of
    // view come between its errors. Not by the order's attempts: an error in an earlier step
    // (place_order) counts there too.
    if (order.dnsPoll && !order.stepClockRestarted &&
        order.stepAgeMs >= config.pollTimeout.count())
        context.restartStepClock();
    return answerChallenges(context);
}

}  // namespace dnsh
