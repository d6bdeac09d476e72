#include <thread>

#include "dns/dns_name.hpp"
#include "dns/txt_check.hpp"
#include "domain/domain_name.hpp"
#include "issuance/challenge_publisher.hpp"
#include "issuance/order_steps.hpp"
#include "issuance/renewal_info.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

// README "Zero-touch": a renewal that finds its delegation CNAME gone checks again daily.
constexpr milliseconds kDelegationLostRetry{24 * 3'600'000};
// An answer that the CNAME is gone is believed when a second lookup this long after says so too.
constexpr milliseconds kCnameRecheckDelay{1'000};

// A delegated domain's renewal needs its CNAME still in place: without it no order is placed
// (no rate limit burnt at the CA), delegation is "lost", and it is checked again daily. Nothing
// when it is in place.
std::optional<StepResult> checkDelegation(StepContext& context) {
    const StoredOrder& order = context.order();
    const std::string target = context.parts().publishers.delegated().targetOf(order);
    const std::string name = challengeName(order.domainName);
    // Only an answer that the CNAME is not there (NOERROR or NXDOMAIN without it), seen twice,
    // is a lost delegation; a lookup that failed (SERVFAIL, timeout) is retried with backoff
    // like any other error, the delegation left as it was.
    auto seenInPlace = [&](const CnameLookup& lookup) {
        return lookup.found() && lookup.target == DnsName(target);
    };
    auto lookupFailed = [&](const CnameLookup& lookup) {
        return retryLater(failureCodeOr(txtResult(lookup.outcome, 0)),
                          "the CNAME lookup for " + name + " failed: " + lookup.detail);
    };
    const DnsResolver& resolver = context.parts().resolver;
    CnameLookup lookup = resolver.lookupCname(DnsName(name));
    if (!lookup.found() && !lookup.absent()) return lookupFailed(lookup);
    if (!seenInPlace(lookup)) {
        std::this_thread::sleep_for(kCnameRecheckDelay);
        lookup = resolver.lookupCname(DnsName(name));
        if (!lookup.found() && !lookup.absent()) return lookupFailed(lookup);
    }
    const bool inPlace = seenInPlace(lookup);
    context.setDelegationStatus(inPlace ? "active" : "lost");
    if (!inPlace)
        return failOrder(FailureCode::DelegationLost,
                         "the CNAME " + name + " -> " + target +
                             " is gone: renewal waits for it (checked again daily)",
                         kDelegationLostRetry);
    return std::nullopt;
}

}  // namespace

StepResult placeOrderStep(StepContext& context) {
    const StoredOrder& order = context.order();
    bool delegated = order.delegated;  // a replacement keeps what its order was
    if (order.kind == OrderKind::Renewal &&
        context.parts().publishers.delegated().configured() &&
        order.delegationStatus != "not_seen") {
        if (auto stopped = checkDelegation(context)) return std::move(*stopped);
        delegated = true;
    }
    // RFC 9773 §5: a renewal names the certificate it replaces when the CA offers ARI.
    AcmeAccount& account = context.parts().account;
    const std::string replaces =
        account.call([&] { return ariReplaces(context.parts().database, account.client(), order); })
            .value_or("");
    // A crash after newOrder and before recordPlaced leaves a pending order at the CA that
    // nobody answers; it expires there. It cannot be re-read: its URL was never stored.
    // The domain's profile (or ACME_PROFILE) for every order, renewals and replacements too.
    PlacedOrder placed =
        account.placeOrder(order.domainName, replaces,
                           orderProfile(order.domainProfile, context.config()),
                           [&] { context.keepLease(); });
    placed.delegated = delegated;
    context.recordPlaced(placed);
    LogFields fields = orderFields(order);
    fields.insert(fields.end(), {{"values_to_publish", placed.challenges.size()},
                                 {"profile", placed.profile}});
    logEvent(LogLevel::Info, "certificate order placed", fields);
    return pauseFor(milliseconds(0), StepLabel::PlacedOrder);
}

}  // namespace dnsh
