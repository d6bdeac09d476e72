#pragma once
// dns-01 values in the delegation zone that are still to be removed (README "Zero-touch: one
// CNAME, then nothing", table delegation_cleanup, migration 028), and the scheduler's sweep that
// removes them. A value is queued when its domain is deleted (in the delete's transaction: the
// order and its challenges go with the domain), when the primary did not take the delete after
// the order finished (DelegatedPublishes::cleanUp), when a step lost its order right after adding
// a value or got no answer to the add (the primary may have applied it), and by the sweep itself
// for a finished order whose challenge still records its value as published (the scheduler
// stopped before it removed it).
#include <Poco/Data/Session.h>
#include <Poco/Types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "db/database.hpp"
#include "dns/dns_update.hpp"

namespace dnsh {

// A queued value is given up (kept, abandoned_at set, a warning logged) once it has failed for
// this long since it was queued.
inline constexpr std::chrono::hours kDelegationCleanupGiveUp{72};
// Retries back off from POLL_INTERVAL, doubling, at most this.
inline constexpr std::chrono::milliseconds kDelegationCleanupRetryCap{3'600'000};
// A finished order's value still recorded as published this long after the order finished is
// queued by the sweep (the order's own removal comes right after it finished).
inline constexpr std::chrono::milliseconds kDelegationLeftoverGrace{600'000};

// The wait before attempt `attempts + 1` of a value that failed `attempts` times.
std::chrono::milliseconds delegationCleanupDelay(const Config& config, int attempts);

class DelegationCleanupStore {
public:
    explicit DelegationCleanupStore(Poco::Data::Session& session) : session_(session) {}

    // In DELETE /domains/{id}'s transaction, before the delete: every value the domain's orders
    // recorded as published, and every dns-01 value of its live delegated order at `target`
    // (its delegation target; "" when delegation is off here), which a scheduler may be adding
    // right now. Due at once. Returns how many rows were queued.
    int queueOfDomain(const std::string& domainId, const std::string& target);
    // One value, due `delayMs` from now, `attempts` already made (`error`: the last one's).
    // Nothing when it is queued already.
    void queue(const std::string& name, const std::string& value, int attempts,
               Poco::Int64 delayMs, const std::string& error);
    // Finished orders' values still recorded as published `graceMs` after the order finished.
    int queueLeftovers(Poco::Int64 graceMs);

    struct Claimed {
        Poco::Int64 id = 0;
        std::string name;
        std::string value;
        int attempts = 0;    // before this one
        bool inUse = false;  // a live order has this value: put off by `inUseHoldMs`, not removed
        bool overdue = false;  // queued longer ago than `giveUpMs`
    };
    // The next due row (FOR UPDATE SKIP LOCKED: replicas split them), held `holdMs` for this
    // attempt (a crash mid-attempt: due again after that).
    std::optional<Claimed> claimNext(Poco::Int64 holdMs, Poco::Int64 inUseHoldMs,
                                     Poco::Int64 giveUpMs);
    // Removed from the zone: the row deleted, and finished orders' challenges that recorded the
    // value at that name as published recorded as removed.
    void removed(const Claimed& row);
    void retryLater(const Claimed& row, Poco::Int64 delayMs, const std::string& error);
    void abandon(const Claimed& row, const std::string& error);

private:
    Poco::Data::Session& session_;
};

// The scheduler's sweep (one worker per replica runs it, issuance/worker.cpp): only when the
// service publishes (DELEGATION_ZONE, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG).
class DelegationSweep {
public:
    DelegationSweep(Database& database, const Config& config);

    bool configured() const { return updater_.has_value(); }

    enum class Outcome {
        Idle,    // nothing was due
        Done,    // every due row handled, none failed
        More,    // `limit` rows handled (or a stop came first), none failed: more may be due
        Failed,  // a delete failed: the primary is likely down, the rest waits for a later turn
    };
    // Up to `limit` due values deleted from the zone (each an RFC 2136 delete of that value
    // alone, which may wait DNS_TIMEOUT); stops at the first that the primary does not take,
    // and before the next row once `stopRequested` (when given) says so: a row is claimed only
    // when it is about to be tried, so none is left half done.
    Outcome removeDue(int limit, const std::function<bool()>& stopRequested = {});
    // Queues finished orders' leftovers (kDelegationLeftoverGrace); returns how many.
    int queueLeftovers();

private:
    Database& database_;
    const Config& config_;
    std::optional<DnsUpdater> updater_;
};

}  // namespace dnsh
