#include "issuance/worker.hpp"

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr int kRenewalsPerScan = 100;
constexpr std::chrono::seconds kRenewalScanInterval{1};
constexpr int kAriFetchesPerScan = 20;
constexpr std::chrono::seconds kAriScanInterval{60};
// A claimed renewalInfo fetch is not handed to another replica for this long.
constexpr Poco::Int64 kAriHoldMs = 10 * 60 * 1000;
constexpr std::chrono::seconds kPersistPrepareRetryMax{3600};
// The delegation sweep: due values looked for every 10 s (an index scan of a table that is
// almost always empty: 0.1 statements a second of an idle scheduler), at most 20 removed per
// turn; after a delete the primary did not take, the next turn waits twice as long each time
// (from 10 s, at most 5 minutes), so a primary that
// is down costs this worker one DNS_TIMEOUT per wait, not per value. Finished orders' values
// still recorded as published are looked for once a minute.
constexpr int kCleanupsPerScan = 20;
constexpr std::chrono::milliseconds kCleanupScanInterval{10'000};
constexpr std::chrono::milliseconds kCleanupScanRetryMax{300'000};
constexpr std::chrono::seconds kLeftoverScanInterval{60};

}  // namespace

IssuanceWorker::IssuanceWorker(const Config& config, std::string owner, bool scans,
                               IdlePolling* polling, std::function<bool()> stopRequested)
    : config_(config),
      owner_(std::move(owner)),
      database_(config.databaseUrl, config.databaseLimits),
      resolver_(DnsResolver::fromConfig(config)),
      issuer_(std::make_unique<Issuer>(database_, config_, resolver_, CaCaller::Scheduler,
                                       stopRequested)),
      sweep_(database_, config_),
      scans_(scans),
      polling_(polling),
      stopRequested_(std::move(stopRequested)) {}

void IssuanceWorker::handWatchOn() {
    if (polling_) polling_->busy();
}

void IssuanceWorker::scheduleRenewals() {
    const auto now = std::chrono::steady_clock::now();
    if (now < nextRenewalScan_) return;
    nextRenewalScan_ = now + kRenewalScanInterval;
    const int created = database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).scheduleRenewals(kRenewalsPerScan);
    });
    if (created > 0)
        logEvent(LogLevel::Info, "renewals scheduled", {{"orders", created}, {"worker", owner_}});
}

void IssuanceWorker::refreshRenewalInfo() {
    const auto now = std::chrono::steady_clock::now();
    if (now < nextAriScan_) return;
    // ARI_MAX_WAIT shorter than the scan interval: looked for as often as it asks.
    nextAriScan_ = now + std::min<std::chrono::milliseconds>(kAriScanInterval, config_.ariMaxWait);
    // Only the issuing CA can be asked: certificates of CAs not configured here are left to
    // replicas that have them.
    std::set<std::string> ours;
    for (const auto& account : issuer_->cas().inPreference())
        ours.insert(account->ca().directoryUrl);
    const auto due = database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimAriFetches(kAriFetchesPerScan, kAriHoldMs, ours);
    });
    if (due.empty()) return;
    handWatchOn();  // up to 20 CA requests: the other workers take the new orders meanwhile
    // A CA that did not answer (its timeout spent, or not reached), failed (5xx) or rate-limited
    // us is asked nothing more in this batch: its other certificates keep the claim's hold
    // (kAriHoldMs) and come again after it.
    std::set<std::string> putOff;
    for (const auto& certificate : due) {
        // Stopping: the rest keep their hold too, as after a crash.
        if (stopping()) return;
        if (putOff.count(certificate.caDirectory) != 0) continue;
        try {
            if (!issuer_->refreshRenewalInfo(certificate)) {
                putOff.insert(certificate.caDirectory);
                logEvent(LogLevel::Warn,
                         "renewalInfo fetches put off: the CA did not answer, failed or "
                         "rate-limited us",
                         {{"ca", certificate.caDirectory},
                          {"certificate_id", certificate.certificateId},
                          {"worker", owner_}});
            }
        } catch (const std::exception& e) {
            logEvent(LogLevel::Warn, "renewalInfo refresh failed",
                     {{"certificate_id", certificate.certificateId}, {"detail", errorDetail(e)}});
        }
    }
    // A full batch with no CA put off: more are due (a drill, a restart after a day): the
    // next batch at the next turn of this worker, between orders, not a scan interval later.
    if (due.size() == static_cast<std::size_t>(kAriFetchesPerScan) && putOff.empty())
        nextAriScan_ = now;
}

void IssuanceWorker::preparePersistOffers() {
    const auto now = std::chrono::steady_clock::now();
    const auto& accounts = issuer_->cas().inPreference();
    const bool allReady =
        persistReady_.size() == accounts.size() &&
        std::all_of(persistReady_.begin(), persistReady_.end(), [](bool ready) { return ready; });
    if (allReady || now < nextPersistPrepare_) return;
    // Each CA once; one that fails is asked again later, less often each time (a CA that does
    // not answer holds this worker, and so the renewal scan, for its timeout; not the orders:
    // another worker looks for them meanwhile).
    handWatchOn();
    persistReady_.resize(accounts.size(), false);
    bool all = true;
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        if (stopping()) return;
        if (persistReady_[i]) continue;
        try {
            accounts[i]->recordPersistIssuer();
            persistReady_[i] = true;
        } catch (const std::exception& e) {
            all = false;
            logEvent(LogLevel::Warn, "acme account not ready",
                     {{"ca", accounts[i]->ca().directoryUrl},
                      {"retry_in_s", static_cast<long long>(persistRetryIn_.count())},
                      {"detail", errorDetail(e)}});
        }
    }
    if (all) return;
    nextPersistPrepare_ = now + persistRetryIn_;
    persistRetryIn_ = std::min(persistRetryIn_ * 2, kPersistPrepareRetryMax);
}

void IssuanceWorker::sweepDelegationLeftovers() {
    if (!sweep_.configured()) return;
    const auto now = std::chrono::steady_clock::now();
    try {
        if (now >= nextLeftoverScan_) {
            nextLeftoverScan_ = now + kLeftoverScanInterval;
            sweep_.queueLeftovers();
        }
        if (now < nextCleanupScan_) return;
        // Each value removed may wait DNS_TIMEOUT on the primary: the orders go to another worker.
        handWatchOn();
        switch (sweep_.removeDue(kCleanupsPerScan, [this] { return stopping(); })) {
            case DelegationSweep::Outcome::More:
                // A full batch: the next one at this worker's next turn.
                cleanupRetryIn_ = {};
                nextCleanupScan_ = now;
                return;
            case DelegationSweep::Outcome::Failed:
                cleanupRetryIn_ = cleanupRetryIn_.count() == 0
                                      ? kCleanupScanInterval
                                      : std::min(cleanupRetryIn_ * 2, kCleanupScanRetryMax);
                nextCleanupScan_ = now + cleanupRetryIn_;
                return;
            case DelegationSweep::Outcome::Idle:
            case DelegationSweep::Outcome::Done:
                cleanupRetryIn_ = {};
                nextCleanupScan_ = now + kCleanupScanInterval;
                return;
        }
    } catch (const std::exception& e) {
        // The sweep looks again later. The database unreachable: it logs that itself, once for
        // the outage (summarizeDatabaseOutages), and the claim right after puts the looks off.
        nextCleanupScan_ = now + kCleanupScanInterval;
        if (!databaseUnreachable(e))
            logEvent(LogLevel::Error, "delegation sweep failed",
                     {{"worker", owner_}, {"detail", errorDetail(e)}});
    }
}

void IssuanceWorker::release(const std::string& orderId, std::chrono::milliseconds delay,
                             bool dnsPoll) {
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).release(orderId, owner_, delay.count(), dnsPoll);
        return true;
    });
    if (polling_) polling_->expect(std::chrono::steady_clock::now() + delay);
}

bool IssuanceWorker::releaseLeftover() {
    if (!unreleased_) return true;
    try {
        release(unreleased_->orderId, unreleased_->delay, unreleased_->dnsPoll);
        logEvent(LogLevel::Info, "order given back after the database returned",
                 {{"order_id", unreleased_->orderId}, {"worker", owner_}});
    } catch (const LeaseLost&) {
        // The lease ran out and another replica has the order: nothing of ours to give back.
    } catch (const std::exception& e) {
        // Its first failure was logged when the step ended; an outage, by the database.
        if (databaseUnreachable(e)) {
            unreachable_.failed();
        } else {
            logEvent(LogLevel::Error, "release failed",
                     {{"order_id", unreleased_->orderId}, {"detail", errorDetail(e)}});
        }
        return false;
    }
    unreleased_.reset();
    return true;
}

bool IssuanceWorker::runOnce() {
    // PostgreSQL was not reachable at the last look: nothing is asked of it before the next.
    if (!unreachable_.due()) return false;
    // Before anything else: an order still leased to this idle worker is one nobody advances.
    if (!releaseLeftover()) return false;
    std::optional<std::string> orderId;
    try {
        // Not only when idle: a queue that is never empty (many orders waiting for their
        // customers' DNS) must not starve the renewals.
        if (scans_) {
            preparePersistOffers();
            scheduleRenewals();
            refreshRenewalInfo();
            sweepDelegationLeftovers();
        }
        // Stopping (maybe during the scans): no new order is taken on.
        if (stopping()) return false;
        orderId = database_.withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).claimDue(owner_, config_.leaseDuration.count());
        });
        unreachable_.reached();
    } catch (const std::exception& e) {
        // Unreachable: the database logs it, once for the outage (summarizeDatabaseOutages),
        // not each look.
        if (databaseUnreachable(e)) {
            unreachable_.failed();
        } else {
            logEvent(LogLevel::Error, "claim failed",
                     {{"worker", owner_}, {"detail", errorDetail(e)}});
        }
        return false;
    }
    if (!orderId) return false;
    if (polling_) polling_->claimed();

    StepOutcome outcome{false, config_.pollInterval, StepLabel::Error};
    const auto started = std::chrono::steady_clock::now();
    try {
        outcome = issuer_->advance(*orderId, owner_);
    } catch (const LeaseLost&) {
        // Another replica owns the order now: nothing of ours to write back.
        logEvent(LogLevel::Warn, "lease lost", {{"order_id", *orderId}, {"worker", owner_}});
        return true;
    } catch (const std::exception& e) {
        // The database failed mid-step: the lease and the retry delay keep the order safe.
        logEvent(LogLevel::Error, "step failed",
                 {{"order_id", *orderId}, {"worker", owner_}, {"detail", errorDetail(e)}});
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    // Polls that found nothing new are debug; every step that moved the order on is info.
    logEvent(isPoll(outcome.step) ? LogLevel::Debug : LogLevel::Info, "step",
             {{"domain_id", outcome.domainId},
              {"order_id", *orderId},
              {"step", std::string(toString(outcome.step))},
              {"duration_ms", elapsed.count()}});
    if (!outcome.finished) {
        try {
            release(*orderId, outcome.delay, outcome.dnsPoll);
        } catch (const LeaseLost&) {
            // Another replica owns the order now.
        } catch (const std::exception& e) {
            // A failover or an outage: kept, and given back as soon as the database answers
            // (the lease alone would hold the order for up to SCHEDULER_LEASE).
            logEvent(LogLevel::Error, "release failed",
                     {{"order_id", *orderId}, {"detail", errorDetail(e)}});
            unreleased_ = Unreleased{*orderId, outcome.delay, outcome.dnsPoll};
        }
    }
    return true;
}

}  // namespace dnsh
