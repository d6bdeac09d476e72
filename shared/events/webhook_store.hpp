#pragma once
// SQL for delivering the outbox (README "Webhooks"). An event is claimed with FOR UPDATE SKIP
// LOCKED and a lease, as orders are, so replicas never send one event at the same time; only the
// oldest undelivered event of a domain can be claimed, so a domain's events go out in order (the
// next waits until the previous one is delivered or dead).
#include <Poco/Data/Session.h>
#include <Poco/Types.h>

#include <optional>
#include <string>

namespace dnsh {

struct ClaimedEvent {
    Poco::Int64 id = 0;
    std::string eventId;  // webhook-id
    std::string domainId;
    std::string type;
    std::string payload;
    int attempts = 0;  // before this one
};

class WebhookStore {
public:
    explicit WebhookStore(Poco::Data::Session& session) : session_(session) {}

    // The oldest due event at the head of its domain's queue, leased to `owner` for `leaseMs`.
    std::optional<ClaimedEvent> claim(const std::string& owner, Poco::Int64 leaseMs);

    // 2xx. False when the lease was no longer ours (another replica may send it again).
    bool markDelivered(const ClaimedEvent& event, const std::string& owner);

    // Not delivered: tried again `backoffMs` from now, or dead with `error` once the retry window
    // (from the event's first attempt) has passed. Returns "pending", "dead", or "" when the lease
    // was no longer ours.
    std::string markFailed(const ClaimedEvent& event, const std::string& owner,
                           const std::string& error, Poco::Int64 backoffMs,
                           Poco::Int64 retryWindowMs);

    // Deletes up to `batch` events, delivered more than `retentionMs` ago or dead with their
    // last attempt that old, oldest first; pending ones stay. Returns how many went. Batched so
    // that one call never deletes millions of rows in one statement.
    Poco::Int64 pruneFinished(Poco::Int64 retentionMs, Poco::Int64 batch);
    // pruneFinished's statement ($1 retention in ms, $2 batch), for a test to read its plan.
    static const char* const kPruneFinishedSql;

    // Webhooks turned off here: up to `batch` pending events that delivery would already have
    // given up (their first attempt, or their creation when never tried, more than
    // `retryWindowMs` ago), oldest due first, made dead with `reason` as their last error, given
    // up now (pruneFinished's clock for them). Only a domain's head (its oldest pending event,
    // the one claim takes): one held back behind it waits, as it would for delivery, and goes
    // on a later call once the head is gone. Newer ones stay for a replica with webhooks on.
    // One under a running lease (a delivery under way on another replica) waits for a later
    // call: giving it up would clear the lease, so markDelivered and markFailed (which require
    // it) would record nothing and an event the receiver got would stay dead. Nothing at all
    // while a live scheduler replica has webhooks on (liveReplicaDelivers): it delivers them, and
    // an event whose head it gives up next is its to claim. Returns how many.
    Poco::Int64 giveUpPending(const std::string& reason, Poco::Int64 retryWindowMs,
                              Poco::Int64 batch);

    // Whether a scheduler replica alive now (a heartbeat in the last 60 s, as
    // dnsh_scheduler_replicas_alive counts) runs with WEBHOOK_URL set, so is delivering.
    bool liveReplicaDelivers();

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
