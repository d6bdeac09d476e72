#include "issuance/issuer.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <thread>

#include "acme/ari.hpp"
#include "acme/jws.hpp"
#include "config/duration.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/random.hpp"
#include "db/transaction.hpp"
#include "dns/precheck.hpp"
#include "dns/txt_check.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_repository.hpp"
#include "domain/domain_service.hpp"
#include "domain/outbox.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_metrics.hpp"
#include "issuance/renewal_time.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kCaPollDelay{250};
// Retry-After of an API answer when the CA did not answer (or answered 5xx) without one.
constexpr std::chrono::seconds kCaUnreachableRetryAfter{30};
// Orders in one chain of replacements (a CA that forgot an order, an order past its expiry).
constexpr int kMaxGenerations = 3;
// Errors one order may meet: retryable CA errors, and (fewer) anything unexpected.
constexpr int kMaxAttempts = 16;
constexpr int kMaxUnexpectedAttempts = 3;
// A renewal waiting for its customer past POLL_TIMEOUT polls less often; POST .../check is there
// for "I have just published it".
constexpr milliseconds kSlowDnsPoll{300'000};
constexpr milliseconds kRenewalRetryCap{6 * 3'600'000};
// DESIGN.md: a renewal that finds its delegation CNAME gone checks again daily.
constexpr milliseconds kDelegationLostRetry{24 * 3'600'000};
// An answer that the CNAME is gone is believed when a second lookup this long after says so too.
constexpr milliseconds kCnameRecheckDelay{1'000};
// How long an issue-certificate call holds its claim on a domain while it calls the CA; a claim
// whose process died is abandoned by the next call after this.
constexpr milliseconds kIssueClaimLease{5 * 60'000};

// What an API client is told when the CA failed it. The domain is unchanged, so trying again
// is safe; Retry-After says when it may help: the CA's own (bounded) for its rate limits, a
// short pause for a CA that did not answer.
Error badGateway(const acme::AcmeError& e) {
    Error error(ErrorCode::BadGateway,
                e.unreachable() ? std::string("ACME CA unreachable: ") + e.problem().detail
                                : std::string("ACME CA refused: ") + e.problem().detail,
                errorCodeOf(e));
    if (e.is(acme::ProblemType::kRateLimited))
        error.retryAfter(clampRetryAfter(e.retryAfter().value_or(kCaUnreachableRetryAfter),
                                         RetryAfterKind::RateLimit));
    else if (e.retryable())
        error.retryAfter(
            clampRetryAfter(std::max(e.retryAfter().value_or(kCaUnreachableRetryAfter),
                                     std::chrono::seconds(1)),
                            RetryAfterKind::Poll));
    return error;
}

const acme::Challenge* findDns01(const acme::Authorization& authorization) {
    for (const auto& challenge : authorization.challenges)
        if (challenge.type == "dns-01") return &challenge;
    return nullptr;
}

LogFields orderFields(const StoredOrder& order) {
    return {{"domain_id", order.domainId},
            {"order_id", order.id},
            {"kind", std::string(toString(order.kind))}};
}

std::vector<std::string> expectedValues(const std::vector<OrderChallenge>& challenges,
                                        const std::string& name) {
    std::vector<std::string> values;
    for (const auto& challenge : challenges)
        if (challenge.txtName == name) values.push_back(challenge.txtValue);
    return values;
}

// Milliseconds from `from` to now, to the microsecond, for timing fields of log lines.
double msSince(std::chrono::steady_clock::time_point from) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - from)
                        .count();
    return static_cast<double>(us) / 1000;
}

// Milliseconds since the epoch of an RFC 3339 UTC time.
Poco::Int64 epochMs(const std::string& rfc3339) {
    int timeZoneDifferential = 0;
    return Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FORMAT, rfc3339,
                                       timeZoneDifferential)
               .timestamp()
               .epochMicroseconds() /
           1000;
}

}  // namespace

std::string errorCodeOf(const acme::AcmeError& error) {
    if (error.unreachable()) return "ca_unreachable";
    if (error.is(acme::ProblemType::kRateLimited)) return "ca_rate_limited";
    return "ca_refused";
}

KeyEncryptor loadKeyEncryptor(const Config& config) {
    if (config.keyEncryptionKeyFile.empty())
        throw ConfigError(
            "KEY_ENCRYPTION_KEY_FILE is not set: it names the key that encrypts "
            "private keys at rest (create one with: openssl rand -hex 32 > FILE)");
    return KeyEncryptor::fromFile(config.keyEncryptionKeyFile);
}

Issuer::Issuer(Database& database, const Config& config, const DnsResolver& resolver,
               CaCaller caller)
    : database_(database),
      config_(config),
      resolver_(resolver),
      updater_(DnsUpdater::fromConfig(config)),
      encryptor_(loadKeyEncryptor(config)),
      transport_(config.acmeCaBundle, caller == CaCaller::Handler ? config.acmeHandlerTimeout
                                                                   : config.acmeSchedulerTimeout),
      client_(transport_, config.acmeDirectory) {}

template <typename Store>
auto Issuer::store(Store&& work) {
    return database_.withSession([&](Poco::Data::Session& session) {
        OrderStore orders(session);
        return work(orders);
    });
}

void Issuer::ensureAccount() {
    if (accountKey_) return;
    // One account per directory URL, created once even when many processes ask at once: the
    // unique directory_url decides whose key wins, and everyone uses the winner's.
    auto stored = store([&](OrderStore& orders) {
        if (auto found = orders.findAccount(config_.acmeDirectory)) return *found;
        const Pkey key = generateEcdsaP256Key();
        const KeyEncryptor::Sealed sealed = encryptor_.seal(privateKeyToPem(key.get()));
        return orders.insertAccount(config_.acmeDirectory, sealed.ciphertext, sealed.keyId,
                                    config_.acmeEmail);
    });
    accountKey_ = privateKeyFromPem(encryptor_.decrypt(stored.keyCiphertext));
    accountId_ = stored.id;
    if (stored.accountUrl) {
        client_.useAccount(accountKey_.get(), *stored.accountUrl);
    } else {
        reRegister();
    }
}

void Issuer::reRegister() {
    // newAccount with a known key returns the existing account (RFC 8555 §7.3.1), so racing
    // processes end with the same URL; sending it again is harmless.
    const std::string url = client_.newAccount(accountKey_.get(), config_.acmeEmail);
    store([&](OrderStore& orders) {
        orders.setAccountUrl(accountId_, url);
        return true;
    });
    logEvent(LogLevel::Info, "acme account registered", {{"account_url", url}});
}

template <typename Call>
auto Issuer::withAccount(Call&& call) -> decltype(call()) {
    ensureAccount();
    try {
        return call();
    } catch (const acme::AcmeError& e) {
        // A CA that forgot us (Pebble restarted): register the same key again, once.
        if (!e.is(acme::ProblemType::kAccountDoesNotExist)) throw;
        logEvent(LogLevel::Warn, "acme account unknown to the CA; registering again");
        reRegister();
        return call();
    }
}

void Issuer::keepLease(Claim& claim) {
    const auto now = std::chrono::steady_clock::now();
    store([&](OrderStore& orders) {
        orders.extendLease(claim.order.id, claim.owner, config_.leaseDuration.count());
        return true;
    });
    claim.leaseUntil = now + config_.leaseDuration;
}

void Issuer::moveTo(Claim& claim, OrderStep step) {
    store([&](OrderStore& orders) {
        orders.setStep(claim.order.id, claim.owner, step);
        return true;
    });
    claim.order.step = step;
}

template <typename Call>
auto Issuer::caCall(Claim& claim, Call&& call) -> decltype(call()) {
    keepLease(claim);
    return withAccount(std::forward<Call>(call));
}

PlacedOrder Issuer::placeOrder(const std::string& domainName, const std::string& replaces,
                               const std::function<void()>& beforeEachCall) {
    return withAccount([&] {
        beforeEachCall();
        const acme::Order order = client_.newOrder(certificateNames(domainName), replaces);
        if (order.authorizations.empty())
            throw acme::AcmeError(acme::Problem{"", "order without authorizations", 502});
        PlacedOrder placed;
        placed.accountId = accountId_;
        placed.orderUrl = order.url;
        placed.finalizeUrl = order.finalize;
        placed.expires = order.expires;
        const std::string thumbprint = acme::jwkThumbprint(accountKey_.get());
        for (const auto& url : order.authorizations) {
            beforeEachCall();
            const acme::Authorization authorization = client_.getAuthorization(url);
            // An authorization the CA already holds as valid needs no record (RFC 8555 §7.1.4).
            if (authorization.status == acme::AuthorizationStatus::Valid) continue;
            const acme::Challenge* challenge = findDns01(authorization);
            if (challenge == nullptr)
                throw acme::AcmeError(acme::Problem{"", "the CA offers no dns-01 challenge", 502});
            placed.challenges.push_back(OrderChallenge{
                authorization.url, challenge->url, challenge->token, challengeName(domainName),
                acme::dns01TxtValue(acme::keyAuthorization(challenge->token, thumbprint)), ""});
        }
        return placed;
    });
}

StartedIssuance Issuer::start(const std::string& domainId) {
    // Where a call spends its time goes on the "certificate order created" line.
    auto mark = std::chrono::steady_clock::now();
    const Domain domain = findDomain(database_, domainId);
    const double findMs = msSince(mark);
    // issue-certificate on a failed domain is the retry: a fresh order. A domain with a live
    // order (certificate_pending, or another call placing one) has one already.
    auto refused = [](DomainStatus status) {
        if (status == DomainStatus::CertificatePending)
            return Error(ErrorCode::Conflict,
                         "a certificate order for this domain is already in progress");
        // RFC 9110 §15.5.10: well formed, but the domain's state does not allow it (409).
        return Error(ErrorCode::Conflict, "domain must be verified first, current status: " +
                                              std::string(toString(status)));
    };
    if (domain.status != DomainStatus::Verified && domain.status != DomainStatus::Failed)
        throw refused(domain.status);

    // At most one live CA order per domain: the claim in the database first, the CA after, so
    // concurrent calls cannot each place an order that only one of them can use.
    mark = std::chrono::steady_clock::now();
    const std::string orderId = randomHex(16);
    const std::string owner = "issue-certificate:" + orderId;
    const OrderStore::IssueClaim claim = store([&](OrderStore& orders) {
        return orders.claimIssue(orderId, domain.id, domain.status, owner,
                                 kIssueClaimLease.count());
    });
    using Claim = OrderStore::IssueClaim::Outcome;
    switch (claim.outcome) {
        case Claim::Claimed:
            break;
        case Claim::InProgress:
            throw refused(DomainStatus::CertificatePending);
        case Claim::TooSoon:
            throw Error::tooSoon(
                "certificate issuance for this domain failed " + std::to_string(claim.failures) +
                    " time(s) in a row; retry in " + std::to_string((claim.waitMs + 999) / 1000) +
                    " s (the wait doubles with each failure)",
                milliseconds(claim.waitMs));
        case Claim::Moved:
            if (claim.status.empty()) throw Error(ErrorCode::NotFound, "domain not found");
            throw refused(parseDomainStatus(claim.status).value_or(DomainStatus::Pending));
    }
    const double claimMs = msSince(mark);

    PlacedOrder placed;
    mark = std::chrono::steady_clock::now();
    const std::uint64_t caRequestsBefore = transport_.requestCount();
    try {
        placed = placeOrder(domain.domainName, "", [] {});
    } catch (const acme::AcmeError& e) {
        logEvent(LogLevel::Warn, "acme order failed",
                 {{"domain_id", domain.id}, {"detail", errorDetail(e)}});
        // The domain stays as it was; after the CA's rate limit, its next call waits the
        // CA's Retry-After (RFC 8555 §6.6, clamped) or the retry backoff.
        std::optional<Poco::Int64> retryIn;
        if (e.is(acme::ProblemType::kRateLimited))
            retryIn = retryDelay(config_.issueRetryBackoff, 1, e.retryAfter(),
                                 kMaxIssueRetryBackoff, RetryAfterKind::RateLimit)
                          .count();
        store([&](OrderStore& orders) {
            orders.dropIssueClaim(orderId, owner, domain.id, retryIn);
            return true;
        });
        throw badGateway(e);
    } catch (...) {
        store([&](OrderStore& orders) {
            orders.dropIssueClaim(orderId, owner, domain.id, std::nullopt);
            return true;
        });
        throw;
    }
    // A domain whose CNAME proved control is delegated: the scheduler publishes the values.
    const double caMs = msSince(mark);
    const auto caRequests = static_cast<Poco::Int64>(transport_.requestCount() - caRequestsBefore);
    placed.delegated = !config_.delegationZone.empty() && domain.delegationStatus == "active";
    mark = std::chrono::steady_clock::now();
    const bool created = store([&](OrderStore& orders) {
        return orders.completeIssueClaim(orderId, owner, domain.id, domain.status, placed);
    });
    const double storeMs = msSince(mark);
    if (!created) {
        // The domain was deleted or moved meanwhile (or the claim outlived its lease): nobody
        // will finish this order, so it gives its authorizations back (RFC 8555 §7.5.2).
        std::vector<std::string> authorizations;
        for (const auto& challenge : placed.challenges)
            authorizations.push_back(challenge.authorizationUrl);
        deactivateAuthorizations(authorizations, {{"domain_id", domain.id}});
        store([&](OrderStore& orders) {
            orders.dropIssueClaim(orderId, owner, domain.id, std::nullopt);
            return true;
        });
        throw refused(findDomain(database_, domainId).status);
    }
    logEvent(LogLevel::Info, "certificate order created",
             {{"domain_id", domain.id},
              {"order_id", orderId},
              {"step", std::string(toString(placed.step()))},
              {"find_ms", findMs},
              {"claim_ms", claimMs},
              {"ca_ms", caMs},
              {"ca_requests", caRequests},
              {"store_ms", storeMs}});
    StartedIssuance started{orderId, challengeName(domain.domainName), {}, placed.delegated};
    for (const auto& challenge : placed.challenges)
        started.challenges.push_back(PendingChallenge{challenge.txtName, challenge.txtValue});
    return started;
}

void Issuer::deactivateAuthorizations(const std::vector<std::string>& urls,
                                      const LogFields& fields) {
    for (const auto& url : urls) {
        try {
            withAccount([&] {
                client_.deactivateAuthorization(url);
                return true;
            });
        } catch (const acme::AcmeError& e) {
            LogFields failed = fields;
            failed.push_back({"detail", errorDetail(e)});
            logEvent(LogLevel::Warn, "authorization not deactivated", failed);
            // A CA that did not answer one will not answer the next within the client's wait.
            if (e.unreachable()) break;
        } catch (const std::exception& e) {
            LogFields failed = fields;
            failed.push_back({"detail", errorDetail(e)});
            logEvent(LogLevel::Warn, "authorization not deactivated", failed);
        }
    }
}

void Issuer::deleteDomain(const std::string& domainId) {
    const Domain domain = findDomain(database_, domainId);
    const auto authorizations = database_.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).liveAuthorizationUrls(domain.id);
    });
    // Its absence does not block the delete.
    deactivateAuthorizations(authorizations, {{"domain_id", domain.id}});
    const bool removed = database_.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            // domain.deleted carries the view as it was just before the delete.
            recordDomainEvent(session, EventType::DomainDeleted, domain.id);
            return DomainRepository(session).remove(domain.id);
        });
    });
    if (!removed) throw Error(ErrorCode::NotFound, "domain not found");
    logEvent(LogLevel::Info, "domain deleted", {{"domain_id", domain.id}});
}

StepOutcome Issuer::advance(const std::string& orderId, const std::string& leaseOwner) {
    // The worker claimed the order (for SCHEDULER_LEASE) just before this.
    const auto claimedBy = std::chrono::steady_clock::now();
    Claim claim{store([&](OrderStore& orders) { return orders.load(orderId, leaseOwner); }),
                leaseOwner, claimedBy + config_.leaseDuration};
    const auto started = std::chrono::steady_clock::now();
    const OrderStep step = claim.order.step;
    StepOutcome outcome = stepOrError(claim);
    observeOrderStep(step, started);
    outcome.domainId = claim.order.domainId;
    return outcome;
}

StepOutcome Issuer::stepOrError(Claim& claim) {
    try {
        return step(claim);
    } catch (const LeaseLost&) {
        throw;
    } catch (const Error& e) {
        // The database timed out or went away: no attempt is counted against the order (it
        // did nothing wrong); the worker gives it back for the next poll.
        if (e.code() == ErrorCode::DatabaseTimeout || e.code() == ErrorCode::DatabaseUnavailable)
            throw;
        return onError(claim, "internal error: " + errorDetail(e), "internal", false, {});
    } catch (const acme::AcmeError& e) {
        // The CA no longer knows the order (restarted, purged): a fresh one, never a loop.
        if (e.problem().status == 404 && !claim.order.orderUrl.empty() &&
            claim.order.generation < kMaxGenerations)
            return replace(claim, "acme order unknown to the CA");
        return onError(claim, e.what(), errorCodeOf(e), e.retryable(), e.retryAfter());
    } catch (const std::exception& e) {
        // A chain that does not parse, a key that no longer decrypts, the database: counted
        // like any other error, so it ends in failed instead of retrying forever.
        return onError(claim, "internal error: " + errorDetail(e), "internal", false, {});
    }
}

StepOutcome Issuer::onError(Claim& claim, const std::string& reason, const std::string& errorCode,
                            bool retryable, std::optional<std::chrono::seconds> retryAfter) {
    const int attempts = store(
        [&](OrderStore& orders) { return orders.recordAttempt(claim.order.id, claim.owner); });
    const bool pastPollTimeout = claim.order.stepAgeMs >= config_.pollTimeout.count();
    const bool again = retryable ? attempts < kMaxAttempts && !pastPollTimeout
                                 : errorCode == "internal" && attempts < kMaxUnexpectedAttempts;
    if (!again) return fail(claim, reason, errorCode);
    // Backoff in database time: the delay becomes the order's next_attempt_at. The CA's
    // Retry-After is honoured up to an hour, a day for its rate limits (issuance/backoff.hpp).
    const auto delay = retryDelay(
        config_.pollInterval, attempts, retryAfter, std::chrono::minutes(5),
        errorCode == "ca_rate_limited" ? RetryAfterKind::RateLimit : RetryAfterKind::Poll);
    LogFields fields = orderFields(claim.order);
    fields.insert(fields.end(), {{"detail", reason},
                                 {"attempts", attempts},
                                 {"delay_ms", static_cast<Poco::Int64>(delay.count())}});
    if (retryAfter)
        fields.insert(fields.end(),
                      {{"retry_after_s", static_cast<Poco::Int64>(retryAfter->count())}});
    logEvent(LogLevel::Warn, "order step will be retried", fields);
    return StepOutcome{false, delay, std::string(toString(claim.order.step))};
}

StepOutcome Issuer::fail(Claim& claim, const std::string& reason, const std::string& errorCode,
                         std::optional<milliseconds> renewalRetry) {
    const auto retryIn = renewalRetry.value_or(
        retryDelay(config_.pollInterval, claim.order.renewalFailures + 1, {}, kRenewalRetryCap));
    store([&](OrderStore& orders) {
        orders.fail(claim.order, claim.owner, reason, errorCode, retryIn.count(),
                    config_.issueRetryBackoff.count());
        return true;
    });
    countOrderFinished(claim.order.kind, false);
    // RFC 8555 §7.5.2: an order nobody will finish gives its authorizations back, so they stop
    // counting against the account at the CA (pending authorizations are limited). Not when the
    // CA itself could not be reached.
    if (errorCode != "ca_unreachable") {
        std::vector<std::string> authorizations;
        for (const auto& challenge : claim.order.challenges)
            authorizations.push_back(challenge.authorizationUrl);
        deactivateAuthorizations(authorizations, orderFields(claim.order));
    }
    unpublish(claim.order);
    LogFields fields = orderFields(claim.order);
    fields.insert(fields.end(), {{"reason", reason}, {"error_code", errorCode}});
    logEvent(LogLevel::Warn,
             claim.order.kind == OrderKind::Renewal ? "certificate renewal failed"
                                                    : "certificate issuance failed",
             fields);
    return StepOutcome{true, {}, "failed"};
}

StepOutcome Issuer::replace(Claim& claim, const std::string& why) {
    const std::string next =
        store([&](OrderStore& orders) { return orders.replace(claim.order, claim.owner); });
    unpublish(claim.order);
    LogFields fields = orderFields(claim.order);
    fields.insert(fields.end(), {{"reason", why}, {"new_order_id", next}});
    logEvent(LogLevel::Warn, "order replaced by a fresh one", fields);
    return StepOutcome{true, {}, "replaced"};
}

StepOutcome Issuer::step(Claim& claim) {
    StoredOrder& order = claim.order;
    // An order past the CA's expiry cannot be finished: a fresh one (new values to publish),
    // a bounded number of times.
    if (order.expired && order.step != OrderStep::PlaceOrder) {
        if (order.generation >= kMaxGenerations)
            return fail(claim, "the ACME order expired", "timeout");
        return replace(claim, "acme order expired");
    }
    switch (order.step) {
        case OrderStep::PlaceOrder:
            return placeOrderStep(claim);
        case OrderStep::AwaitDns:
            return awaitDns(claim);
        case OrderStep::AwaitAuthz:
            return awaitAuthorization(claim);
        case OrderStep::Finalize:
            return finalize(claim);
        case OrderStep::AwaitOrder:
            return awaitOrder(claim);
        case OrderStep::Done:
            break;
    }
    return fail(claim, "order in an unexpected step", "internal");
}

std::optional<std::string> Issuer::ariReplaces(const StoredOrder& order) {
    if (!order.replacesCertificateId || client_.directory().renewalInfo.empty())
        return std::nullopt;
    const std::string leaf = database_.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).certificatePem(*order.replacesCertificateId);
    });
    if (leaf.empty()) return std::nullopt;
    return acme::ariCertId(leaf);
}

std::optional<Issuer::AriAdvice> Issuer::askRenewalInfo(const std::string& leafPem) {
    try {
        if (client_.directory().renewalInfo.empty()) return std::nullopt;
    } catch (const acme::AcmeError&) {
        return std::nullopt;  // the directory is read again on the next order
    }
    AriAdvice advice;
    try {
        const acme::HttpReply reply = client_.getRenewalInfo(acme::ariCertId(leafPem));
        const acme::RenewalWindow window = acme::parseRenewalInfo(reply.body);
        advice.renewAtEpochMs = std::chrono::duration_cast<milliseconds>(
                                    acme::pickRenewalTime(window, randomUnit()).time_since_epoch())
                                    .count();
        advice.nextFetchMs =
            std::chrono::duration_cast<milliseconds>(acme::ariRetryAfter(reply.retryAfter)).count();
    } catch (const std::exception& e) {
        // §4.3.3: an error is a long-term one: keep the renew_at we have, ask again later.
        logEvent(LogLevel::Warn, "renewalInfo not usable", {{"detail", errorDetail(e)}});
        advice.nextFetchMs =
            std::chrono::duration_cast<milliseconds>(acme::ariRetryAfter(std::nullopt)).count();
    }
    return advice;
}

void Issuer::refreshRenewalInfo(const AriDue& due) {
    const auto advice = askRenewalInfo(due.leafPem);
    if (!advice) return;  // the hold set by the claim keeps it from being asked in a loop
    store([&](OrderStore& orders) {
        orders.recordAri(due.certificateId, advice->renewAtEpochMs, advice->nextFetchMs);
        return true;
    });
}

std::string Issuer::delegationTargetOf(const StoredOrder& order) const {
    return delegationTarget(order.verificationToken, order.domainName, config_.delegationZone);
}

StepOutcome Issuer::placeOrderStep(Claim& claim) {
    bool delegated = claim.order.delegated;  // a replacement keeps what its order was
    // A delegated domain's renewal needs its CNAME still in place: without it no order is placed
    // (no rate limit burnt at the CA), delegation is "lost", and it is checked again daily.
    if (claim.order.kind == OrderKind::Renewal && updater_ &&
        claim.order.delegationStatus != "not_seen") {
        const std::string target = delegationTargetOf(claim.order);
        const std::string name = challengeName(claim.order.domainName);
        // Only an answer that the CNAME is not there (NOERROR or NXDOMAIN without it), seen
        // twice, is a lost delegation; a lookup that failed (SERVFAIL, timeout) is retried with
        // backoff like any other error, the delegation left as it was.
        auto seenInPlace = [&](const CnameLookup& lookup) {
            return lookup.found() && lookup.target == DnsName(target);
        };
        CnameLookup lookup = resolver_.lookupCname(DnsName(name));
        if (!lookup.found() && !lookup.absent())
            return onError(claim, "the CNAME lookup for " + name + " failed: " + lookup.detail,
                           txtResult(lookup.outcome, 0), true, std::nullopt);
        if (!seenInPlace(lookup)) {
            std::this_thread::sleep_for(kCnameRecheckDelay);
            lookup = resolver_.lookupCname(DnsName(name));
            if (!lookup.found() && !lookup.absent())
                return onError(claim, "the CNAME lookup for " + name + " failed: " + lookup.detail,
                               txtResult(lookup.outcome, 0), true, std::nullopt);
        }
        const bool inPlace = seenInPlace(lookup);
        database_.withSession([&](Poco::Data::Session& session) {
            DomainRepository(session).setDelegationStatus(claim.order.domainId,
                                                          inPlace ? "active" : "lost");
            return true;
        });
        if (!inPlace)
            return fail(claim,
                        "the CNAME " + challengeName(claim.order.domainName) + " -> " + target +
                            " is gone: renewal waits for it (checked again daily)",
                        "delegation_lost", kDelegationLostRetry);
        delegated = true;
    }
    // RFC 9773 §5: a renewal names the certificate it replaces when the CA offers ARI.
    const std::string replaces = withAccount([&] { return ariReplaces(claim.order); }).value_or("");
    // A crash after newOrder and before recordPlaced leaves a pending order at the CA that
    // nobody answers; it expires there. It cannot be re-read: its URL was never stored.
    PlacedOrder placed = placeOrder(claim.order.domainName, replaces, [&] { keepLease(claim); });
    placed.delegated = delegated;
    store([&](OrderStore& orders) {
        orders.recordPlaced(claim.order.id, claim.owner, placed);
        return true;
    });
    LogFields fields = orderFields(claim.order);
    fields.insert(fields.end(), {{"values_to_publish", placed.challenges.size()}});
    logEvent(LogLevel::Info, "certificate order placed", fields);
    return StepOutcome{false, {}, "placed_order"};
}

std::optional<StepOutcome> Issuer::publish(Claim& claim) {
    if (!updater_)
        return fail(claim, "the order is delegated but DELEGATION_ZONE is not configured",
                    "internal");
    const std::string target = delegationTargetOf(claim.order);
    for (auto& challenge : claim.order.challenges) {
        if (!challenge.publishedAt.empty()) continue;
        keepLease(claim);
        const UpdateResult result = updater_->addTxt(DnsName(target), challenge.txtValue);
        // A refused update (wrong key, not allowed) or an unreachable primary: retried with
        // backoff until POLL_TIMEOUT, then failed with the reason.
        if (!result.ok()) return onError(claim, result.detail, result.error, true, std::nullopt);
        database_.withSession([&](Poco::Data::Session& session) {
            OrderStore(session).markPublished(claim.order.id, challenge.authorizationUrl, target);
            return true;
        });
        challenge.publishedAt = target;
    }
    return std::nullopt;
}

void Issuer::unpublish(const StoredOrder& order) {
    for (const auto& challenge : order.challenges) {
        if (challenge.publishedAt.empty() || !updater_) continue;
        try {
            const UpdateResult result =
                updater_->deleteTxt(DnsName(challenge.publishedAt), challenge.txtValue);
            if (!result.ok()) {
                logEvent(LogLevel::Warn, "delegated TXT value not removed",
                         {{"domain_id", order.domainId},
                          {"order_id", order.id},
                          {"detail", result.detail}});
                continue;
            }
            database_.withSession([&](Poco::Data::Session& session) {
                OrderStore(session).markPublished(order.id, challenge.authorizationUrl, "");
                return true;
            });
        } catch (const std::exception& e) {
            logEvent(LogLevel::Warn, "delegated TXT value not removed",
                     {{"domain_id", order.domainId},
                      {"order_id", order.id},
                      {"detail", errorDetail(e)}});
        }
    }
}

StepOutcome Issuer::awaitDns(Claim& claim) {
    StoredOrder& order = claim.order;
    if (order.challenges.empty()) return fail(claim, "order has no dns-01 challenge", "internal");
    if (order.delegated)
        if (auto stopped = publish(claim)) return *stopped;
    std::set<std::string> names;
    for (const auto& challenge : order.challenges) names.insert(challenge.txtName);
    // The customer's nameservers are asked within a deadline well inside the lease (extended
    // first when less than twice the deadline is left of it), so the order stays ours meanwhile.
    const milliseconds budget = precheckBudget(config_.leaseDuration);
    if (std::chrono::steady_clock::now() + 2 * budget > claim.leaseUntil) keepLease(claim);
    const PrecheckLimits limits{std::chrono::steady_clock::now() + budget, config_.precheckAllow};
    TxtCheck check;
    for (const auto& name : names) {
        check = precheckTxt(config_.dnsPrecheck, resolver_, name,
                            expectedValues(order.challenges, name), limits);
        if (!check.passed()) break;
    }
    // Nameservers that do not answer in time cost a worker for the whole deadline: each such
    // look counts as an attempt, and the next one waits a backoff (the order fails after
    // kMaxAttempts or POLL_TIMEOUT), so a silent zone cannot keep the scheduler busy.
    if (config_.dnsPrecheck == DnsPrecheck::Authoritative && check.result == "dns_timeout") {
        const StepOutcome outcome = onError(claim, "TXT values not checked: " + check.description,
                                            check.result, true, std::nullopt);
        database_.withSession([&](Poco::Data::Session& session) {
            DomainRepository(session).recordCheck(
                order.domainId,
                txtCheckJson(check, outcome.finished ? std::nullopt
                                                     : std::optional<milliseconds>(outcome.delay)));
            return true;
        });
        return outcome;
    }
    // Not visible yet: issuance fails at POLL_TIMEOUT; a renewal keeps waiting for its customer
    // (more slowly) until the CA's order expires, while the current certificate is still served.
    const bool pastPollTimeout = order.stepAgeMs >= config_.pollTimeout.count();
    const bool giveUp = !check.passed() && order.kind == OrderKind::Issue && pastPollTimeout;
    std::optional<milliseconds> next;
    if (!check.passed() && !giveUp)
        next =
            pastPollTimeout ? std::max(config_.pollInterval, kSlowDnsPoll) : config_.pollInterval;
    database_.withSession([&](Poco::Data::Session& session) {
        DomainRepository(session).recordCheck(order.domainId, txtCheckJson(check, next));
        return true;
    });
    if (giveUp)
        return fail(claim,
                    "TXT values not visible within " + formatDuration(config_.pollTimeout) + ": " +
                        check.description,
                    check.result);
    if (next) {
        StepOutcome poll{false, *next, "await_dns"};
        poll.dnsPoll = true;
        return poll;
    }
    // A renewal may wait days for its customer's DNS; that wait is not the CA's. The first time
    // the values are seen (no CA error yet), POLL_TIMEOUT starts again for the CA's part.
    if (order.attempts == 0 && order.stepAgeMs >= config_.pollTimeout.count()) {
        store([&](OrderStore& orders) {
            orders.setStep(order.id, claim.owner, OrderStep::AwaitDns);
            return true;
        });
        claim.order.stepAgeMs = 0;
    }
    // Pebble (and real CAs) mark the authorization invalid on one failed lookup, so answer only
    // once our own lookup sees every value (RFC 8555 §8.2 retries are optional). A challenge
    // already processing or valid (answered before a crash) is not answered again.
    for (const auto& challenge : order.challenges) {
        const acme::Authorization authorization =
            caCall(claim, [&] { return client_.getAuthorization(challenge.authorizationUrl); });
        if (authorization.status == acme::AuthorizationStatus::Valid) continue;
        if (authorization.status != acme::AuthorizationStatus::Pending)
            return fail(claim,
                        "the CA's authorization is " +
                            std::string(acme::toString(authorization.status)) +
                            (authorization.error.empty() ? "" : ": " + authorization.error),
                        "ca_invalid");
        const acme::Challenge* current = findDns01(authorization);
        if (current != nullptr && current->status == acme::ChallengeStatus::Pending)
            caCall(claim, [&] { return client_.respondChallenge(challenge.challengeUrl); });
    }
    moveTo(claim, OrderStep::AwaitAuthz);
    return StepOutcome{false, kCaPollDelay, "answered_challenges"};
}

StepOutcome Issuer::awaitAuthorization(Claim& claim) {
    StoredOrder& order = claim.order;
    bool allValid = true;
    for (const auto& challenge : order.challenges) {
        const acme::Authorization authorization =
            caCall(claim, [&] { return client_.getAuthorization(challenge.authorizationUrl); });
        switch (authorization.status) {
            case acme::AuthorizationStatus::Valid:
                continue;
            case acme::AuthorizationStatus::Pending:
                allValid = false;
                continue;
            default:
                return fail(claim,
                            "the CA rejected the dns-01 challenge: " +
                                (authorization.error.empty()
                                     ? std::string(acme::toString(authorization.status))
                                     : authorization.error),
                            "ca_invalid");
        }
    }
    if (!allValid) {
        if (order.stepAgeMs >= config_.pollTimeout.count())
            return fail(
                claim,
                "the CA did not finish validating within " + formatDuration(config_.pollTimeout),
                "timeout");
        return StepOutcome{false, kCaPollDelay, "await_authz"};
    }
    moveTo(claim, OrderStep::Finalize);
    return finalize(claim);
}

Pkey Issuer::certificateKey(Claim& claim) {
    StoredOrder& order = claim.order;
    if (!order.certKeyCiphertext) {
        // Generated and persisted before finalize: a restart reuses it, so the certificate the CA
        // issues always matches a key we hold.
        const Pkey key = config_.certKeyType == CertKeyType::Rsa2048 ? generateRsaKey(2048)
                                                                     : generateEcdsaP256Key();
        const KeyEncryptor::Sealed sealed = encryptor_.seal(privateKeyToPem(key.get()));
        order.certKeyCiphertext = store([&](OrderStore& orders) {
            return orders.saveCertKey(order.id, claim.owner, sealed.ciphertext, sealed.keyId);
        });
    }
    return privateKeyFromPem(encryptor_.decrypt(*order.certKeyCiphertext));
}

StepOutcome Issuer::finalize(Claim& claim) {
    StoredOrder& order = claim.order;
    const Pkey key = certificateKey(claim);
    // Read before writing: after a lost answer to finalize (never re-sent) the order shows
    // whether the CA took it.
    const acme::Order current = caCall(claim, [&] { return client_.getOrder(order.orderUrl); });
    switch (current.status) {
        case acme::OrderStatus::Ready:
            caCall(claim, [&] {
                return client_.finalize(current,
                                        makeCsrDer(key.get(), certificateNames(order.domainName)));
            });
            break;
        case acme::OrderStatus::Pending:
            return StepOutcome{false, kCaPollDelay, "finalize"};
        case acme::OrderStatus::Processing:
        case acme::OrderStatus::Valid:
            break;  // finalize already happened (before a restart)
        default:
            return fail(claim,
                        "the CA marked the order " + std::string(acme::toString(current.status)) +
                            (current.error.empty() ? "" : ": " + current.error),
                        "ca_invalid");
    }
    moveTo(claim, OrderStep::AwaitOrder);
    return awaitOrder(claim);
}

StepOutcome Issuer::awaitOrder(Claim& claim) {
    StoredOrder& order = claim.order;
    const acme::Order current = caCall(claim, [&] { return client_.getOrder(order.orderUrl); });
    if (current.status == acme::OrderStatus::Processing) {
        if (order.stepAgeMs >= config_.pollTimeout.count())
            return fail(claim, "the CA did not issue within " + formatDuration(config_.pollTimeout),
                        "timeout");
        return StepOutcome{false, kCaPollDelay, "await_order"};
    }
    if (current.status != acme::OrderStatus::Valid || current.certificate.empty())
        return fail(claim,
                    "the CA did not issue: order " + std::string(acme::toString(current.status)) +
                        (current.error.empty() ? "" : ": " + current.error),
                    "ca_invalid");
    const std::string chain =
        caCall(claim, [&] { return client_.downloadCertificate(current.certificate); });
    const IssuedCertificate issued = parseCertificateChain(chain);
    const Pkey key = certificateKey(claim);
    if (!certificateMatchesKey(issued.leafPem, key.get()))
        return fail(claim, "the issued certificate does not match our key", "internal");

    NewCertificate certificate{
        randomHex(16), issued.leafPem, issued.chainPem, *order.certKeyCiphertext,
        // The KEK that really opens it: rotate-kek may have re-sealed the order's copy since it
        // was read, and a later rotate-kek moves this one by its label.
        encryptor_.keyIdOf(*order.certKeyCiphertext), issued.notBefore, issued.notAfter, 0,
        std::nullopt};
    certificate.renewBeforeMs =
        renewBeforeExpiry(config_.renewBefore,
                          std::chrono::duration_cast<milliseconds>(issued.lifetime), randomUnit())
            .count();
    // RFC 9773 §4.2: the CA's suggested window wins over RENEW_BEFORE when it has one.
    if (const auto advice = askRenewalInfo(issued.leafPem)) {
        certificate.ariNextFetchMs = advice->nextFetchMs;
        if (advice->renewAtEpochMs) {
            certificate.renewBeforeMs =
                std::max<Poco::Int64>(0, epochMs(issued.notAfter) - *advice->renewAtEpochMs);
        }
    }
    store([&](OrderStore& orders) {
        orders.storeCertificate(order, claim.owner, certificate);
        return true;
    });
    countOrderFinished(order.kind, true);
    unpublish(order);
    LogFields fields = orderFields(order);
    fields.insert(fields.end(), {{"certificate_id", certificate.id},
                                 {"expires_at", issued.notAfter},
                                 {"renew_before_ms", certificate.renewBeforeMs}});
    logEvent(LogLevel::Info,
             order.kind == OrderKind::Renewal ? "certificate renewed" : "certificate stored",
             fields);
    return StepOutcome{true, {}, "valid"};
}

}  // namespace dnsh
