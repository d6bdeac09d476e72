#pragma once
// One scheduler worker: claims a due order (FOR UPDATE SKIP LOCKED + lease), advances it one
// step, gives it back with its next attempt time. One worker of each scheduler (`scans`) also
// starts the renewals whose time has come, once a second however busy the queue is, and sweeps
// the delegation zone of values left to it (issuance/delegation_cleanup.hpp). Each worker
// has its own database session and ACME connection.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/idle_polling.hpp"
#include "db/database.hpp"
#include "db/unreachable_backoff.hpp"
#include "dns/resolver.hpp"
#include "issuance/delegation_cleanup.hpp"
#include "issuance/issuer.hpp"

namespace dnsh {

class IssuanceWorker {
public:
    // `polling`, when given, hears when this worker claims an order, when an order it gave back
    // comes due again, and when its scans are about to wait on a CA or the DNS (IdlePolling::
    // busy: another worker looks for orders meanwhile). `stopRequested`, when given, says the
    // process is stopping: the scans end between two items (a CA request or DNS update
    // under way is finished first) and no order is claimed.
    IssuanceWorker(const Config& config, std::string owner, bool scans,
                   IdlePolling* polling = nullptr, std::function<bool()> stopRequested = {});

    // Claims and advances at most one order; false when nothing was due (or on an error, or
    // once a stop was requested). PostgreSQL unreachable: the following calls return false at
    // once for 100 ms, then twice as long after each failure, at most 2 s (unreachable_).
    bool runOnce();
    // Looks again every interval even while other workers watch the queue (IdlePolling): it has
    // the scans, or an order to give back once the database answers again (an idle worker that
    // only waited for work would hold that order for its whole lease).
    bool keepsLooking() const { return scans_ || unreleased_.has_value(); }

    const std::string& owner() const { return owner_; }

private:
    // Renewal orders for certificates whose renew_at has come; at most once a second.
    void scheduleRenewals();
    // RFC 9773: renewalInfo asked again for the certificates of this replica's CAs whose time
    // has come, 20 at a time;
    // after a CA that did not answer (each would wait ACME_SCHEDULER_TIMEOUT as well), failed
    // or rate-limited us, the batch's other certificates of that CA wait out the claim's
    // 10-minute hold.
    void refreshRenewalInfo();
    // Our account at every CA registered and its dns-persist-01 issuer kept, so that the
    // records POST /domains gives are there before the first order (AcmeAccount::
    // recordPersistIssuer); a CA that fails is asked again a minute later, then less often
    // (at most hourly).
    void preparePersistOffers();
    // Delegated values still in the zone that nothing else will remove (a deleted domain's, a
    // delete the primary did not take): removed, every 10 s, or later while the primary fails
    // (issuance/delegation_cleanup.hpp). Only when the service publishes (DELEGATION_ZONE).
    void sweepDelegationLeftovers();

    // An order this worker could not give back (the database went away before its release):
    // given back first thing once the database answers again, instead of sitting out its lease.
    struct Unreleased {
        std::string orderId;
        std::chrono::milliseconds delay;
        bool dnsPoll;
    };
    // True when nothing is left to give back (or another replica holds the order now).
    bool releaseLeftover();
    void release(const std::string& orderId, std::chrono::milliseconds delay, bool dnsPoll);
    // Before a scan waits on a CA or the DNS: the watch over the queue goes to another worker.
    void handWatchOn();
    bool stopping() const { return stopRequested_ && stopRequested_(); }

    const Config& config_;
    std::string owner_;
    std::optional<Unreleased> unreleased_;
    Database database_;
    DnsResolver resolver_;
    std::unique_ptr<Issuer> issuer_;
    DelegationSweep sweep_;
    bool scans_;
    IdlePolling* polling_;
    std::function<bool()> stopRequested_;
    std::chrono::steady_clock::time_point nextRenewalScan_{};
    std::chrono::steady_clock::time_point nextAriScan_{};
    std::chrono::steady_clock::time_point nextPersistPrepare_{};
    std::chrono::seconds persistRetryIn_{60};
    std::vector<bool> persistReady_;  // per CA in preference order; sized at the first try
    std::chrono::steady_clock::time_point nextCleanupScan_{};
    std::chrono::steady_clock::time_point nextLeftoverScan_{};
    std::chrono::milliseconds cleanupRetryIn_{};
    // PostgreSQL could not be reached: runOnce asks it nothing for a while, longer each time.
    UnreachableBackoff unreachable_{kWorkerUnreachableRetryFirst, kWorkerUnreachableRetryMax};
};

}  // namespace dnsh
