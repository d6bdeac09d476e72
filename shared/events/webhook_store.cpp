#include "events/webhook_store.hpp"

#include <string>

#include "db/sql.hpp"

namespace dnsh {

std::optional<ClaimedEvent> WebhookStore::claim(const std::string& owner, Poco::Int64 leaseMs) {
    // A leased head keeps its domain's later events back (NOT EXISTS sees it pending), so one
    // domain is never sent two events at once, by this replica or another.
    const SqlRows rows = runSql(session_, "UPDATE webhook_events SET lease_owner = $1, "
                "first_attempt_at = coalesce(first_attempt_at, now()), "
                "lease_expires_at = now() + $2::bigint * interval '1 ms' "
                "WHERE id = (SELECT e.id FROM webhook_events e "
                "  WHERE e.state = 'pending' AND e.next_attempt_at <= now() "
                "  AND (e.lease_expires_at IS NULL OR e.lease_expires_at < now()) "
                "  AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.state = 'pending' "
                "    AND p.domain_id = e.domain_id AND p.id < e.id) "
                "  ORDER BY e.next_attempt_at, e.id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, event_id, domain_id, type, payload, attempts",
        {owner, leaseMs});
    if (rows.empty()) return std::nullopt;
    return ClaimedEvent{rows.integer(0, "id"), rows.text(0, "event_id"), rows.text(0, "domain_id"),
                        rows.text(0, "type"), rows.text(0, "payload"),
                        static_cast<int>(rows.integer(0, "attempts"))};
}

bool WebhookStore::markDelivered(const ClaimedEvent& event, const std::string& owner) {
    return runSql(session_,
                  "UPDATE webhook_events SET state = 'delivered', delivered_at = now(), "
                  "attempts = attempts + 1, last_error = NULL, lease_owner = NULL, "
                  "lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2",
                  {event.id, owner})
               .affected() == 1;
}

std::string WebhookStore::markFailed(const ClaimedEvent& event, const std::string& owner,
                                     const std::string& error, Poco::Int64 backoffMs,
                                     Poco::Int64 retryWindowMs) {
    // The last try falls at the end of the window rather than after it.
    const SqlRows states = runSql(session_, "UPDATE webhook_events SET attempts = attempts + 1, last_error = $3, "
                "lease_owner = NULL, lease_expires_at = NULL, "
                "state = CASE WHEN now() >= first_attempt_at + $5::bigint * interval '1 ms' "
                "  THEN 'dead' ELSE 'pending' END, "
                "next_attempt_at = least(now() + $4::bigint * interval '1 ms', "
                "  first_attempt_at + $5::bigint * interval '1 ms') "
                "WHERE id = $1 AND lease_owner = $2 RETURNING state",
        {event.id, owner, error, backoffMs, retryWindowMs});
    return states.empty() ? "" : states.text(0, "state");
}

// One range scan of webhook_events_finished_idx (034_webhook_retention.sql: the expression and
// the predicate must stay as written there), oldest first. A dead event's next_attempt_at is the
// end of its retry window, where its last try was due (markFailed): about when it was given up.
// SKIP LOCKED: two replicas' prunes never wait on each other.
namespace {

// A scheduler's heartbeat (heartbeat.cpp) says whether it has WEBHOOK_URL set; alive is a beat
// in the last 60 s, as dnsh_scheduler_replicas_alive counts it.
constexpr const char* kLiveReplicaDeliversSql =
    "EXISTS (SELECT 1 FROM scheduler_heartbeats h WHERE h.webhooks_on "
    "AND h.last_seen_at > now() - interval '60 seconds')";

}  // namespace

bool WebhookStore::liveReplicaDelivers() {
    return runSql(session_, std::string("SELECT ") + kLiveReplicaDeliversSql + " AS delivering",
                  {})
        .boolean(0, "delivering");
}

const char* const WebhookStore::kPruneFinishedSql =
    "DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events "
    "WHERE state IN ('delivered', 'dead') "
    "AND (CASE state WHEN 'delivered' THEN delivered_at ELSE next_attempt_at END) "
    "< now() - $1::bigint * interval '1 ms' "
    "ORDER BY (CASE state WHEN 'delivered' THEN delivered_at ELSE next_attempt_at END) "
    "LIMIT $2 FOR UPDATE SKIP LOCKED)";

Poco::Int64 WebhookStore::pruneFinished(Poco::Int64 retentionMs, Poco::Int64 batch) {
    return runSql(session_, kPruneFinishedSql, {retentionMs, batch}).affected();
}

Poco::Int64 WebhookStore::giveUpPending(const std::string& reason, Poco::Int64 retryWindowMs,
                                        Poco::Int64 batch) {
    // A range scan of webhook_events_pending_due_idx (006_webhooks.sql) up to now, as claim's:
    // an event past its window is due (markFailed puts its next try within the window).
    // Only a domain's head, as claim takes it: an event held back behind an older pending one
    // was never tried, and its window starts when it becomes head and is claimed, so its age
    // since creation says nothing about what delivery would still do. The NOT EXISTS is one
    // probe of webhook_events_pending_domain_idx.
    return runSql(session_,
                  "UPDATE webhook_events SET state = 'dead', last_error = $1, "
                  "next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL "
                  "WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.state = 'pending' "
                  "AND e.next_attempt_at < now() "
                  "AND coalesce(e.first_attempt_at, e.created_at) < now() - $2::bigint * "
                  "interval '1 ms' "
                  "AND (e.lease_expires_at IS NULL OR e.lease_expires_at < now()) "
                  "AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.state = 'pending' "
                  "  AND p.domain_id = e.domain_id AND p.id < e.id) "
                  "AND NOT " + std::string(kLiveReplicaDeliversSql) + " "
                  "ORDER BY e.next_attempt_at, e.id LIMIT $3 FOR UPDATE SKIP LOCKED)",
                  {reason, retryWindowMs, batch})
        .affected();
}

}  // namespace dnsh
