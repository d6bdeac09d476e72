#include "issuance/issue_start.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "acme/call_budget.hpp"
#include "crypto/random.hpp"
#include "dns/dns_name.hpp"
#include "domain/check_times.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_service.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/backoff.hpp"
#include "issuance/ca_fallback.hpp"
#include "issuance/issue_failures.hpp"
#include "issuance/persist_probe.hpp"
#include "issuance/profiles.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

// How long an issue-certificate call holds its claim on a domain while it calls the CA; a claim
// whose process died is abandoned by the next call after this.
constexpr milliseconds kIssueClaimLease{5 * 60'000};

// The walk's allowance in issue-certificate's CAA budget beyond one lookup at its longest, in
// DNS_TIMEOUTs: a walk of a usual name answers in well under one.
constexpr int kCaaWalkTimeouts = 4;

// How long the DNS of one call's CAA prechecks may take, every CA's together (CaaLookups): the
// walk asks once per label (RFC 8659 §3), up to ~115 for a long name, and a customer's
// nameserver answering each slowly but within DNS_TIMEOUT held an issue handler past its claim.
// One lookup at its longest (every server waited out, UDP and TCP: a dead resolver never fails
// a healthy call, even with /etc/resolv.conf's servers asked in a random order) and
// kCaaWalkTimeouts x DNS_TIMEOUT for the walk (60 s with the defaults and one server); at most
// half the claim's lease, so that the call answers (424) while its claim holds.
milliseconds caaLookupBudget(const Config& config) {
    return std::min(longestDnsLookup(config) + kCaaWalkTimeouts * config.dnsTimeout,
                    kIssueClaimLease / 2);
}

// How many request timeouts one call's requests to the CAs may take together (caBudget): a
// first order at a CA sends about this many (its directory, newAccount, a fresh nonce,
// newOrder, a read of each authorization: two for a wildcard), so a CA answering each just
// within its timeout still takes the order.
constexpr int kCaBudgetTimeouts = 6;

// How long one call's requests to the CAs may take together, every CA's and every retry's
// (acme/call_budget.hpp; the DNS between them is CAA's budget, above). Each request is bounded
// by ACME_HANDLER_TIMEOUT, but a call sends many: badNonce retries, up to 17 newOrders (RFC 8555
// §6.5), a read per authorization, all again at each CA passed over; a CA answering each slowly
// but in time held an issue handler, and its client, with no limit. kCaBudgetTimeouts request
// timeouts (30 s with the defaults; dnsh-admin retry's are ACME_SCHEDULER_TIMEOUT), at most half
// the claim's lease as the CAA budget is, so that the call answers (502) while its claim holds;
// but never under two request timeouts: newAccount and newOrder go only with a whole timeout
// left (acme/transport.cpp), so a budget under one would never send them. The give-backs of an
// order abandoned on the way take their own timeouts beyond it (issuance/ca_fallback.cpp).
milliseconds caBudget(const CaAccounts& cas) {
    return std::max(std::min(kCaBudgetTimeouts * cas.requestTimeout(), kIssueClaimLease / 2),
                    2 * cas.requestTimeout());
}

// Milliseconds from `from` to now, to the microsecond, for timing fields of log lines.
double msSince(std::chrono::steady_clock::time_point from) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - from)
                        .count();
    return static_cast<double>(us) / 1000;
}

// A domain verified with its token (delegation not_seen) whose customer has since put the
// delegation CNAME in place, as the registration offers (README "Zero-touch"): one lookup, true
// when it points at the domain's target. Absent, elsewhere, or a lookup that failed: false, and
// the customer publishes, as before. Only for an order with values to publish (dns-persist-01
// asks nothing at _acme-challenge), and only not_seen: `lost` is the renewals' to clear
// (step_place_order.cpp), `active` needs no look. Never throws: the CA holds the order already.
bool cnameAddedSinceVerify(const DnsResolver& resolver, const std::string& zone,
                           const Domain& domain, const PlacedOrder& placed) {
    const bool toPublish =
        std::any_of(placed.challenges.begin(), placed.challenges.end(),
                    [](const OrderChallenge& challenge) { return challenge.needsPublishing(); });
    if (zone.empty() || domain.delegationStatus != "not_seen" || !toPublish) return false;
    try {
        // One DNS_TIMEOUT at most, whatever the servers: the CA holds the order already and
        // the client waits for this answer.
        const CnameLookup lookup =
            resolver.lookupCname(DnsName(challengeName(domain.domainName)),
                                 std::chrono::steady_clock::now() + resolver.timeout());
        return pointsAtTarget(lookup, delegationTarget(domain, zone));
    } catch (const std::exception& e) {
        logEvent(LogLevel::Warn, "delegation CNAME lookup failed",
                 {{"domain_id", domain.id}, {"detail", errorDetail(e)}});
        return false;
    }
}

template <typename Work>
auto withOrders(Database& database, Work&& work) {
    return database.withSession([&](Poco::Data::Session& session) {
        OrderStore orders(session);
        return work(orders);
    });
}

}  // namespace

StartedIssuance startIssuance(Database& database, const Config& config,
                              const DnsResolver& resolver, const CaAccounts& cas,
                              const std::string& domainId, IssueRequester requester) {
    // Where a call spends its time goes on the "certificate order created" line.
    auto mark = std::chrono::steady_clock::now();
    const Domain domain = findDomain(database, domainId);
    const double findMs = msSince(mark);
    if (domain.status != DomainStatus::Verified && domain.status != DomainStatus::Failed)
        throw refused(domain.status);

    // At most one live CA order per domain: the claim in the database first, the CA after, so
    // concurrent calls cannot each place an order that only one of them can use.
    mark = std::chrono::steady_clock::now();
    const std::string orderId = randomHex(16);
    const std::string owner = "issue-certificate:" + orderId;
    const OrderStore::IssueClaim claim = withOrders(database, [&](OrderStore& orders) {
        return orders.claimIssue(orderId, domain.id, domain.status, owner,
                                 kIssueClaimLease.count(), requester);
    });
    refuseUnlessClaimed(claim);
    const double claimMs = msSince(mark);
    // The claim removed when the call fails, as a best effort: the database may be what failed
    // (unavailable, or the domain row locked past DB_LOCK_TIMEOUT). A claim not removed holds
    // the domain (409) until its lease runs out. True when this call removed it.
    auto dropClaim = [&](std::optional<Poco::Int64> retryIn) {
        try {
            return withOrders(database, [&](OrderStore& orders) {
                return orders.dropIssueClaim(orderId, owner, domain.id, retryIn);
            });
        } catch (const std::exception& e) {
            logEvent(LogLevel::Warn, "issue claim not dropped; it holds the domain until its lease "
                                     "runs out",
                     {{"domain_id", domain.id}, {"order_id", orderId}, {"detail", errorDetail(e)}});
            return false;
        }
    };
    // The domain view's checks.caa when no CA took the order: the last CA's check, returned as
    // stored (its checked_at the database's) for the answer to show. None when the claim is gone
    // (LeaseLost): a DELETE committed while the call was at the CAs, or its lease ran out and a
    // later call abandoned it (then that call's check is the one to keep).
    auto recordLastCaa = [&](const CaaCheck& caa) -> std::optional<std::string> {
        try {
            return withOrders(database, [&](OrderStore& orders) {
                return orders.recordCaaCheck(orderId, owner, caaCheckJson(caa));
            });
        } catch (const LeaseLost&) {
            return std::nullopt;
        }
    };

    PlacedOrder placed;
    AcmeAccount* account = nullptr;
    std::optional<CaaCheck> caa;
    // dns-persist-01 where the customer's record and CAA allow it (issuance/persist_probe.hpp,
    // issuance/caa_precheck.hpp); its persistUntil judged by the database's clock.
    PersistProbe persist(resolver, domain.id, databaseClock(database));
    // One walk for every CA (issuance/caa_lookups.hpp), within its budget: past it, 424.
    CaaLookups caaLookups(resolver, caaLookupBudget(config));
    // Delegated since verify: the service publishes the values, at whichever CA. By the domain's
    // row, not this host's DELEGATION_ZONE: an API host not yet given the zone in a rolling
    // restart placed the order undelegated and asked the customer for a TXT value at a name that
    // is their CNAME; the schedulers with the zone publish it (one without retries it).
    const bool delegatedBefore = domain.delegationStatus == "active";
    mark = std::chrono::steady_clock::now();
    const std::uint64_t caRequestsBefore = cas.requestCount();
    // One budget for every request to any CA until the order is placed (caBudget): once spent,
    // the CA not answered in time is passed over, as one that did not answer, and so is every CA
    // after it, unasked. The give-backs after the placement (the order not stored) have their
    // request timeouts as before.
    acme::CallBudget caTime(caBudget(cas));
    try {
        const CallBudgetAtEveryCa budgeted(cas, caTime);
        // The first CA that can take the order (issuance/ca_fallback.hpp), each CA's CAA
        // precheck first (RFC 8659 §3). The check is recorded either way, for the domain view's
        // checks.caa; no CA taking it leaves the domain as it was. A domain not delegated goes
        // first to a CA where the customer's dns-persist-01 record is usable, should the first
        // that can take it need a dns-01 value (the customer publishes none with the record).
        const CaPlacement placement =
            placeAtFirstAvailable(
                database, cas, caaLookups, domain.id, domain.domainName, persist,
                !delegatedBefore, [](AcmeAccount&) { return false; },
                [&](AcmeAccount& at, const CaaCheck& check, const SpendBudgetToken&) {
                    return at.placeOrder(domain.domainName, "",
                                         orderProfile(domain.profile, at.ca()), [] {},
                                         persist.question(), check);
                });
        if (placement.account == nullptr) {
            std::string shownCaa;
            if (placement.caa) {
                std::optional<std::string> stored = recordLastCaa(*placement.caa);
                if (!stored) {
                    // A domain deleted meanwhile: 404 (findDomain), as for a call that came
                    // after. Else this call's check is shown, not stored.
                    findDomain(database, domainId);
                    stored = database.withSession([&](Poco::Data::Session& session) {
                        return checkWithTimesNow(session, caaCheckJson(*placement.caa));
                    });
                }
                shownCaa = *stored;
            }
            throw noCaTookIt(placement, domain.id, shownCaa);
        }
        account = placement.account;
        placed = placement.placed;
        caa = placement.caa;
    } catch (const acme::AcmeError& e) {
        logEvent(LogLevel::Warn, "acme order failed",
                 {{"domain_id", domain.id}, {"detail", errorDetail(e)}});
        // The domain stays as it was; after the CA's rate limit, its next call waits the
        // CA's Retry-After (RFC 8555 §6.6, clamped) or the retry backoff, whichever is longer,
        // and the answer's Retry-After says that same wait.
        std::optional<milliseconds> blockedFor;
        if (e.is(acme::ProblemType::kRateLimited))
            blockedFor = retryDelay(config.issueRetryBackoff, 1, e.retryAfter(),
                                    kMaxIssueRetryBackoff, RetryAfterKind::RateLimit);
        dropClaim(blockedFor ? std::optional<Poco::Int64>(blockedFor->count()) : std::nullopt);
        throw badGateway(e, blockedFor);
    } catch (...) {
        dropClaim(std::nullopt);
        throw;
    }
    const double caMs = msSince(mark);
    const auto caRequests = static_cast<Poco::Int64>(cas.requestCount() - caRequestsBefore);
    const bool cnameFound =
        cnameAddedSinceVerify(resolver, config.delegationZone, domain, placed);
    // A domain whose CNAME proved control at verify, or is found in place now, is delegated: the
    // scheduler publishes the values.
    placed.delegated = delegatedBefore || cnameFound;
    placed.persistCheck = persist.checkJson();
    // RFC 8555 §7.5.2: an order nobody will finish gives its authorizations back (those no
    // other domain needs, authorization_release.hpp).
    auto giveBack = [&] {
        giveBackAuthorizations(database, *account, domain.id, domain.domainName,
                               heldAuthorizations(placed.challenges), {{"domain_id", domain.id}});
    };
    mark = std::chrono::steady_clock::now();
    bool created = false;
    try {
        // The CA's check is written with the order, only while the claim is ours: a domain
        // deleted while the call was at the CA is !created below (404, authorizations back).
        const std::optional<std::string> caaJson =
            caa ? std::optional<std::string>(caaCheckJson(*caa)) : std::nullopt;
        created = withOrders(database, [&](OrderStore& orders) {
            return orders.completeIssueClaim(orderId, owner, domain.id, domain.status, placed,
                                             cnameFound, caaJson);
        });
    } catch (const std::exception& e) {
        // The CA holds the order and the database did not take it (its error is the answer,
        // 503 with Retry-After): the claim goes so that the retry may place a new one, and this
        // order's authorizations go back. Only when the drop removed the claim: a store whose
        // COMMIT's answer was lost may have stored the order, which the scheduler then finishes.
        logEvent(LogLevel::Warn, "certificate order placed, not stored",
                 {{"domain_id", domain.id}, {"order_id", orderId}, {"detail", errorDetail(e)}});
        if (dropClaim(std::nullopt)) giveBack();
        throw;
    }
    const double storeMs = msSince(mark);
    if (!created) {
        // The domain was deleted or moved meanwhile (or the claim outlived its lease): nobody
        // will finish this order. RFC 8555 §7.5.2: its authorizations go back; a deleted
        // domain's answer is 404 (findDomain).
        giveBack();
        dropClaim(std::nullopt);
        throw refused(findDomain(database, domainId).status);
    }
    if (cnameFound)
        logEvent(LogLevel::Info, "delegation CNAME found after verification",
                 {{"domain_id", domain.id}, {"order_id", orderId}});
    logEvent(LogLevel::Info, "certificate order created",
             {{"domain_id", domain.id},
              {"order_id", orderId},
              {"step", std::string(toString(placed.step()))},
              {"profile", placed.profile},
              {"validation_method", std::string(toString(placed.validationMethod()))},
              {"ca", account->ca().directoryUrl},
              {"find_ms", findMs},
              {"claim_ms", claimMs},
              {"ca_ms", caMs},
              {"ca_requests", caRequests},
              {"store_ms", storeMs}});
    StartedIssuance started{orderId, challengeName(domain.domainName), {}, placed.delegated,
                            placed.validationMethod()};
    // Only dns-01 values are published; a dns-persist-01 record is already in place.
    for (const auto& challenge : placed.challenges)
        if (challenge.needsPublishing())
            started.challenges.push_back(PendingChallenge{challenge.txtName, challenge.txtValue});
    return started;
}

}  // namespace dnsh
