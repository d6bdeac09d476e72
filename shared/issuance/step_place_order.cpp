#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "acme/problem.hpp"
#include "core/error.hpp"
#include "dns/dns_name.hpp"
#include "dns/txt_check.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_service.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/ca_fallback.hpp"
#include "issuance/caa_lookups.hpp"
#include "issuance/caa_precheck.hpp"
#include "issuance/challenge_publisher.hpp"
#include "issuance/order_steps.hpp"
#include "issuance/persist_probe.hpp"
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
    auto seenInPlace = [&](const CnameLookup& lookup) { return pointsAtTarget(lookup, target); };
    auto lookupFailed = [&](const CnameLookup& lookup) {
        return retryLater(txtFailure(lookup.outcome, 0).value_or(FailureCode::DnsServfail),
                          "the CNAME lookup for " + name + " failed: " + lookup.detail);
    };
    // The lease is extended before each lookup (each may wait DNS_TIMEOUT per server): no
    // deadline cuts a slow resolver short, the lease just never runs out meanwhile.
    auto lookUp = [&] {
        context.keepLease();
        return context.parts().resolver.lookupCname(DnsName(name));
    };
    CnameLookup lookup = lookUp();
    if (!lookup.found() && !lookup.absent()) return lookupFailed(lookup);
    if (!seenInPlace(lookup)) {
        std::this_thread::sleep_for(kCnameRecheckDelay);
        lookup = lookUp();
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

// A renewal of a domain verified with its token (delegation not_seen) whose customer has since
// put the delegation CNAME in place, as the registration offers (README "Zero-touch"): one lookup
// once the order has values to publish (dns-persist-01 asks nothing at _acme-challenge); at the
// target, the delegation is active from now on and this renewal is delegated. Absent, elsewhere,
// or a lookup that failed: the customer publishes, as before; never `lost`, since it was never
// in place.
bool cnameAddedSinceVerify(StepContext& context, const PlacedOrder& placed) {
    const StoredOrder& order = context.order();
    const bool toPublish =
        std::any_of(placed.challenges.begin(), placed.challenges.end(),
                    [](const OrderChallenge& challenge) { return challenge.needsPublishing(); });
    if (!toPublish) return false;
    context.keepLease();  // the lookup may wait DNS_TIMEOUT per server
    const CnameLookup lookup =
        context.parts().resolver.lookupCname(DnsName(challengeName(order.domainName)));
    if (!pointsAtTarget(lookup, context.parts().publishers.delegated().targetOf(order)))
        return false;
    context.setDelegationStatus("active");
    logEvent(LogLevel::Info, "delegation CNAME found after verification", orderFields(order));
    return true;
}

// RFC 9773 §5: newOrder with `replaces` when there is a certificate to name. A CA that already
// holds that certificate as replaced (alreadyReplaced: another order of ours replaced it, say one
// a restored database no longer knows) still issues for the names, so the order is placed again
// without `replaces`, once: that second newOrder names no certificate and cannot be refused so.
// Nor is it exempt from the CA's rate limit on new orders: it spends a token of the order budget
// first (`spendToken`; a spent budget passes the CA over, as for any order). `replaces` is left
// as what the placed order sent. `caa`: the CA's precheck.
PlacedOrder placeNamingReplaced(StepContext& context, AcmeAccount& account,
                                std::string& replaces, PersistProbe& persist,
                                const CaaCheck& caa, const SpendBudgetToken& spendToken) {
    const StoredOrder& order = context.order();
    auto keepLease = [&] { context.keepLease(); };
    const OrderProfile profile = orderProfile(order.domainProfile, account.ca());
    if (replaces.empty())
        return account.placeOrder(order.domainName, "", profile, keepLease, persist.question(),
                                  caa);
    try {
        return account.placeOrder(order.domainName, replaces, profile, keepLease,
                                  persist.question(), caa);
    } catch (const acme::AcmeError& e) {
        if (!e.is(acme::ProblemType::kAlreadyReplaced)) throw;
        LogFields fields = orderFields(order);
        fields.insert(fields.end(), {{"replaces", replaces}, {"detail", e.problem().detail}});
        logEvent(LogLevel::Warn,
                 "the CA says the certificate was already replaced; ordering without replaces",
                 fields);
    }
    replaces.clear();
    spendToken();
    return account.placeOrder(order.domainName, "", profile, keepLease, persist.question(), caa);
}

// RFC 9773 §5: a renewal names the certificate it replaces when it goes to the CA that issued
// it and that CA offers ARI; another CA never saw that certificate. The ARI call (which may
// register our account again) is a CA call: the lease is extended first.
std::string replacesAt(StepContext& context, AcmeAccount& account) {
    const StoredOrder& order = context.order();
    if (!order.replacesCertificateId ||
        (!order.replacesCaDirectory.empty() &&
         order.replacesCaDirectory != account.ca().directoryUrl))
        return "";
    context.keepLease();
    return account.call([&] { return ariReplaces(context.parts().database, account.client(), order); })
        .value_or("");
}

// No CA took the order (issuance/ca_fallback.hpp). One CA: its own error, as before there were
// several. CAA allowing none: the order fails (a renewal is tried again after its backoff, the
// current certificate staying). A failed CAA lookup or CAs that cannot take it now: retried; when
// every CA said to wait (rateLimited, or our spent order budget there), no sooner than the
// soonest of those waits. One that was unreachable said nothing: the usual backoff then.
StepResult noCaTookIt(const CaPlacement& placement) {
    if (placement.caaLookupFailed)
        return retryLater(placement.caa->failureCode(), placement.caa->description);
    // One CA: why it was refused, by its precheck (the check's description) or by what its
    // authorization offered (acme_account.hpp's CaaMethodRefusal; the check itself passed).
    if (placement.forbiddenByCaa())
        return failOrder(FailureCode::CaaForbidden,
                         placement.passedOver.size() == 1 ? placement.passedOver.front().detail
                                                          : placement.describe());
    if (placement.passedOver.size() == 1 && placement.lastError)
        std::rethrow_exception(placement.lastError);
    return retryLater(placement.rateLimited() ? FailureCode::CaRateLimited
                                              : FailureCode::NoCaAvailable,
                      "no CA could take the order: " + placement.describe(), true,
                      placement.rateLimited() ? placement.soonestRetryAfter() : std::nullopt);
}

// Whether the order's domain is gone (DELETE /domains/{id}, whose cascade removed the order
// row): false when it is there, and when that could not be read.
bool domainGone(StepContext& context) {
    try {
        findDomain(context.parts().database, context.order().domainId);
        return false;
    } catch (const Error& e) {
        return e.code() == ErrorCode::NotFound;
    } catch (const std::exception&) {
        return false;
    }
}

// RFC 8555 §7.5.2: an order placed while its domain was deleted (the delete committed while the
// order was at the CA; storing it then found the row gone, LeaseLost) is finished by nobody, and
// the delete, which read the domain's orders before this one was stored, gave none of its
// authorizations back: they go back here, as issue-certificate's do (issue_start.cpp). Not when
// the lease merely moved to another replica: its order may reuse the same pending authorization.
void giveBackIfDomainGone(StepContext& context, AcmeAccount& account, const PlacedOrder& placed) {
    if (!domainGone(context)) return;
    const StoredOrder& order = context.order();
    LogFields fields = orderFields(order);
    fields.push_back({"ca", account.ca().directoryUrl});
    fields.push_back({"order_url", placed.orderUrl});
    logEvent(LogLevel::Info, "order placed for a deleted domain; giving its authorizations back",
             fields);
    giveBackAuthorizations(context.parts().database, account, order.domainId, order.domainName,
                           heldAuthorizations(placed.challenges), fields);
}

}  // namespace

StepResult placeOrderStep(StepContext& context) {
    const StoredOrder& order = context.order();
    bool delegated = order.delegated;  // a replacement keeps what its order was
    const bool zoneHere = context.parts().publishers.delegated().configured();
    // A renewal of a domain whose delegation was seen (active, or lost and looked for again) is
    // delegated by the domain's row, not by this scheduler's DELEGATION_ZONE: it checks the CNAME
    // before any CA order, and its values are published in the zone. A scheduler without the
    // zone can do neither: it places nothing and leaves the renewal to one that has it (README
    // "Replicas with different CAs"); placed here, it went undelegated, a TXT value asked of the
    // customer by hand. One never seen looks for it once the order is placed, where the zone is
    // (cnameAddedSinceVerify); elsewhere it goes undelegated, as its customer publishes.
    const bool delegationSeen =
        order.kind == OrderKind::Renewal &&
        (order.delegationStatus == "active" || order.delegationStatus == "lost");
    if (delegationSeen) {
        if (!zoneHere)
            throw NotConfiguredHere{FailureCode::Internal,
                                    "the domain is delegated but DELEGATION_ZONE is not "
                                    "configured on any scheduler that took its renewal",
                                    ""};
        if (auto stopped = checkDelegation(context)) return std::move(*stopped);
        delegated = true;
    }
    const bool lookForCname = zoneHere && order.kind == OrderKind::Renewal && !delegationSeen;
    // The first CA that takes it, each CA's CAA precheck first; renewals start from the first
    // CA again. A crash after newOrder and before recordPlaced leaves a pending order at the CA
    // that nobody answers; it expires there. It cannot be re-read: its URL was never stored.
    std::string replaces;
    // dns-persist-01 where the customer's record and CAA allow it (issuance/persist_probe.hpp,
    // issuance/caa_precheck.hpp): a renewal picks it again only while CAA still lists it. Its
    // persistUntil judged by the database's clock, as issue-certificate's.
    PersistProbe persist(context.parts().resolver, order.domainId,
                         databaseClock(context.parts().database));
    // One walk for every CA, unbounded: the lease is extended before each question instead, and
    // a scheduler that is stopping gives the order back there (keepLease's stop point).
    CaaLookups caaLookups(context.parts().resolver);
    // From the first newOrder on, no stop point ends the step: an order the CA holds is recorded
    // (or, abandoned, its authorizations given back) first. The checks of a CA tried after one
    // that failed past its newOrder (rare) run on too.
    std::optional<StepContext::StopsHeld> placing;
    // A renewal sent with `replaces` spends no order budget (Let's Encrypt exempts it); sent
    // again without it, it does (placeNamingReplaced). The
    // lease is extended before each CA and each of its CAA lookups: however many CAs and names
    // there are, and however slow their DNS, the step ends while the order is still ours.
    const CaPlacement placement = [&] {
        // And before each request to any CA that could outlast it: registering our account
        // there (the CAA precheck's accounturi), newOrder and its authorizations, an abandoned
        // order's give-back. Not the give-back after the lease is lost (below): its requests
        // must go out all the same.
        std::vector<std::unique_ptr<LeaseKeptPerRequest>> kept;
        for (const auto& account : context.parts().cas.inPreference())
            kept.push_back(std::make_unique<LeaseKeptPerRequest>(context, *account));
        // Not delegated: the customer answers a dns-01 order, so a CA where their
        // dns-persist-01 record is usable goes first (a renewal whose last order used the
        // record finds it usable at that CA again).
        return placeAtFirstAvailable(
            context.parts().database, context.parts().cas, caaLookups, order.domainId,
            order.domainName, persist, !delegated,
            [&](AcmeAccount& at) {
                replaces = replacesAt(context, at);
                return !replaces.empty();
            },
            [&](AcmeAccount& at, const CaaCheck& caa, const SpendBudgetToken& spendToken) {
                if (!placing) placing.emplace(context);
                return placeNamingReplaced(context, at, replaces, persist, caa, spendToken);
            },
            [&context] { context.keepLease(); });
    }();
    if (placement.account == nullptr) {
        if (placement.caa) context.recordCaaCheck(caaCheckJson(*placement.caa));
        return noCaTookIt(placement);
    }
    PlacedOrder placed = placement.placed;
    try {
        if (placement.caa) context.recordCaaCheck(caaCheckJson(*placement.caa));
        if (lookForCname && cnameAddedSinceVerify(context, placed)) delegated = true;
        placed.delegated = delegated;
        placed.persistCheck = persist.checkJson();
        context.recordPlaced(placed);
    } catch (const LeaseLost&) {
        giveBackIfDomainGone(context, *placement.account, placed);
        throw;
    }
    LogFields fields = orderFields(order);
    const auto valuesToPublish =
        std::count_if(placed.challenges.begin(), placed.challenges.end(),
                      [](const OrderChallenge& challenge) { return challenge.needsPublishing(); });
    fields.insert(fields.end(), {{"values_to_publish", static_cast<long>(valuesToPublish)},
                                 {"replaces", replaces},
                                 {"profile", placed.profile},
                                 {"validation_method",
                                  std::string(toString(placed.validationMethod()))},
                                 {"ca", placed.caDirectory}});
    logEvent(LogLevel::Info, "certificate order placed", fields);
    return pauseFor(milliseconds(0), StepLabel::PlacedOrder);
}

}  // namespace dnsh
