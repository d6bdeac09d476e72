#include "issuance/delegation_cleanup.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/delegation.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr const char* kLive = kLiveOrderStatusesSql;

// A claimed row is not handed to another replica for this long (an attempt takes at most
// DNS_TIMEOUT).
constexpr Poco::Int64 kClaimHoldMs = 5 * 60 * 1000;
// A value a live order has too is looked at again this much later: that order removes it itself
// when it finishes (or queues it), and this row's delete is then a no-op.
constexpr Poco::Int64 kInUseHoldMs = 10 * 60 * 1000;

Poco::Int64 millis(std::chrono::milliseconds duration) {
    return static_cast<Poco::Int64>(duration.count());
}

}  // namespace

std::chrono::milliseconds delegationCleanupDelay(const Config& config, int attempts) {
    return retryDelay(config.pollInterval, std::max(attempts, 1), std::nullopt,
                      kDelegationCleanupRetryCap);
}

int DelegationCleanupStore::queueOfDomain(const std::string& domainId, const std::string& target) {
    // A live delegated order's values are queued whether or not it recorded them as published:
    // a worker may have added one and not yet recorded it (its record then fails, the order
    // being gone). Deleting a value the zone does not have is a no-op (RFC 2136 §2.5.4).
    const SqlRows rows = runSql(
        session_,
        "INSERT INTO delegation_cleanup (name, value) "
        "SELECT DISTINCT coalesce(c.published_at_name, $2::text), c.txt_value "
        "FROM acme_orders o JOIN acme_challenges c ON c.order_id = o.id "
        "WHERE o.domain_id = $1 AND c.txt_value <> '' AND (c.published_at_name IS NOT NULL "
        "  OR ($2::text <> '' AND o.delegated AND c.method = 'dns-01' AND o.status IN " +
            std::string(kLive) +
            ")) "
            "ON CONFLICT (name, value) DO NOTHING",
        {domainId, target});
    return static_cast<int>(rows.affected());
}

void DelegationCleanupStore::queue(const std::string& name, const std::string& value, int attempts,
                                   Poco::Int64 delayMs, const std::string& error) {
    runSql(session_,
           "INSERT INTO delegation_cleanup (name, value, attempts, next_attempt_at, last_error) "
           "VALUES ($1, $2, $3, now() + $4::bigint * interval '1 ms', nullif($5, '')) "
           "ON CONFLICT (name, value) DO NOTHING",
           {name, value, attempts, delayMs, error});
}

int DelegationCleanupStore::queueLeftovers(Poco::Int64 graceMs) {
    // acme_challenges_published_idx: the few challenges recorded as published. A value already
    // queued (or given up) is not queued again.
    const SqlRows rows = runSql(
        session_,
        "INSERT INTO delegation_cleanup (name, value) "
        "SELECT DISTINCT c.published_at_name, c.txt_value FROM acme_challenges c "
        "JOIN acme_orders o ON o.id = c.order_id "
        "WHERE c.published_at_name IS NOT NULL AND o.status NOT IN " +
            std::string(kLive) +
            " AND o.updated_at < now() - $1::bigint * interval '1 ms' "
            "ON CONFLICT (name, value) DO NOTHING",
        {graceMs});
    return static_cast<int>(rows.affected());
}

std::optional<DelegationCleanupStore::Claimed> DelegationCleanupStore::claimNext(
    Poco::Int64 holdMs, Poco::Int64 inUseHoldMs, Poco::Int64 giveUpMs) {
    // A live order with the same value (the CA gave a new order the same pending authorization,
    // so the same token and value) still needs it: put off, never deleted under it.
    const SqlRows rows = runSql(
        session_,
        "WITH due AS (SELECT q.id, EXISTS (SELECT 1 FROM acme_orders o "
        "    JOIN acme_challenges c ON c.order_id = o.id WHERE o.status IN " +
            std::string(kLive) +
            "    AND c.txt_value = q.value) AS in_use "
            "  FROM delegation_cleanup q WHERE q.abandoned_at IS NULL "
            "  AND q.next_attempt_at <= now() ORDER BY q.next_attempt_at LIMIT 1 "
            "  FOR UPDATE OF q SKIP LOCKED) "
            "UPDATE delegation_cleanup d SET next_attempt_at = now() + "
            "  (CASE WHEN due.in_use THEN $2::bigint ELSE $1::bigint END) * interval '1 ms' "
            "FROM due WHERE d.id = due.id "
            "RETURNING d.id, d.name, d.value, d.attempts, due.in_use, "
            "  d.created_at < now() - $3::bigint * interval '1 ms' AS overdue",
        {holdMs, inUseHoldMs, giveUpMs});
    if (rows.empty()) return std::nullopt;
    return Claimed{rows.integer(0, "id"),
                   rows.text(0, "name"),
                   rows.text(0, "value"),
                   static_cast<int>(rows.integer(0, "attempts")),
                   rows.boolean(0, "in_use"),
                   rows.boolean(0, "overdue")};
}

void DelegationCleanupStore::removed(const Claimed& row) {
    // The one lock order of every writer of a domain's rows (order_store_sql.hpp, lockDomain):
    // the domains' rows first, by id, then their challenges; so a DELETE /domains/{id} whose
    // cascade reaches the same challenges (two orders of one domain with one value) waits on the
    // domain row instead of deadlocking with this.
    inTransaction(session_, [&] {
        runSql(session_,
               "SELECT 1 FROM domains WHERE id IN (SELECT o.domain_id FROM acme_challenges c "
               "JOIN acme_orders o ON o.id = c.order_id WHERE c.published_at_name = $1 "
               "AND c.txt_value = $2) ORDER BY id FOR NO KEY UPDATE",
               {row.name, row.value});
        runSql(session_,
               "WITH gone AS (DELETE FROM delegation_cleanup WHERE id = $1) "
               "UPDATE acme_challenges c SET published_at_name = NULL, updated_at = now() "
               "FROM acme_orders o WHERE c.published_at_name = $2 AND c.txt_value = $3 "
               "AND o.id = c.order_id AND o.status NOT IN " +
                   std::string(kLive),
               {row.id, row.name, row.value});
        return true;
    });
}

void DelegationCleanupStore::retryLater(const Claimed& row, Poco::Int64 delayMs,
                                        const std::string& error) {
    runSql(session_,
           "UPDATE delegation_cleanup SET attempts = attempts + 1, last_error = $3, "
           "next_attempt_at = now() + $2::bigint * interval '1 ms' WHERE id = $1",
           {row.id, delayMs, error});
}

void DelegationCleanupStore::abandon(const Claimed& row, const std::string& error) {
    runSql(session_,
           "UPDATE delegation_cleanup SET attempts = attempts + 1, last_error = $2, "
           "abandoned_at = now() WHERE id = $1",
           {row.id, error});
}

DelegationSweep::DelegationSweep(Database& database, const Config& config)
    : database_(database), config_(config), updater_(DnsUpdater::fromConfig(config)) {}

int DelegationSweep::queueLeftovers() {
    if (!updater_) return 0;
    const int queued = database_.withSession([&](Poco::Data::Session& session) {
        return DelegationCleanupStore(session).queueLeftovers(millis(kDelegationLeftoverGrace));
    });
    if (queued > 0)
        logEvent(LogLevel::Warn, "delegated TXT values of finished orders queued for removal",
                 {{"values", queued}});
    return queued;
}

DelegationSweep::Outcome DelegationSweep::removeDue(int limit,
                                                    const std::function<bool()>& stopRequested) {
    if (!updater_) return Outcome::Idle;
    using Claimed = DelegationCleanupStore::Claimed;
    auto store = [&](auto&& work) {
        return database_.withSession([&](Poco::Data::Session& session) {
            DelegationCleanupStore cleanup(session);
            return work(cleanup);
        });
    };
    for (int handled = 0; handled < limit; ++handled) {
        // Stopping: the rows not claimed yet wait for the next sweep, of any replica.
        if (stopRequested && stopRequested()) return Outcome::More;
        const std::optional<Claimed> row = store([&](DelegationCleanupStore& cleanup) {
            return cleanup.claimNext(kClaimHoldMs, kInUseHoldMs,
                                     millis(kDelegationCleanupGiveUp));
        });
        if (!row) return handled == 0 ? Outcome::Idle : Outcome::Done;
        if (row->inUse) continue;
        const LogFields fields{{"name", row->name}, {"attempts", row->attempts + 1}};
        // The zone was changed since (DELEGATION_ZONE): this primary is not the one to ask.
        if (!isInZone(row->name, updater_->zone().text())) {
            const std::string why = "not in the delegation zone " + updater_->zone().text();
            store([&](DelegationCleanupStore& cleanup) {
                cleanup.abandon(*row, why);
                return true;
            });
            logEvent(LogLevel::Warn, "delegated TXT value given up: remove it by hand",
                     {{"name", row->name}, {"detail", why}});
            continue;
        }
        UpdateResult result;
        try {
            result = updater_->deleteTxt(DnsName(row->name), row->value);
        } catch (const std::exception& e) {
            result = UpdateResult{FailureCode::Internal, errorDetail(e)};
        }
        if (result.ok()) {
            store([&](DelegationCleanupStore& cleanup) {
                cleanup.removed(*row);
                return true;
            });
            logEvent(LogLevel::Info, "delegated TXT value removed", fields);
            continue;
        }
        if (row->overdue) {
            store([&](DelegationCleanupStore& cleanup) {
                cleanup.abandon(*row, result.detail);
                return true;
            });
            logEvent(LogLevel::Warn, "delegated TXT value given up: remove it by hand",
                     {{"name", row->name}, {"detail", result.detail}});
            continue;
        }
        const auto delay = delegationCleanupDelay(config_, row->attempts + 1);
        store([&](DelegationCleanupStore& cleanup) {
            cleanup.retryLater(*row, millis(delay), result.detail);
            return true;
        });
        LogFields failed = fields;
        failed.insert(failed.end(),
                      {{"retry_in_ms", millis(delay)}, {"detail", result.detail}});
        logEvent(LogLevel::Warn, "delegated TXT value not removed", failed);
        return Outcome::Failed;
    }
    return Outcome::More;
}

}  // namespace dnsh
