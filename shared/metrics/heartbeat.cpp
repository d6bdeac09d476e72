#include "metrics/heartbeat.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>

#include "db/sql.hpp"
#include "events/webhook_store.hpp"
#include "log/log.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

constexpr Poco::Int64 kWebhookPruneBatch = 1000;  // delivered and dead together, per beat
constexpr const char* kWebhooksOff = "webhooks turned off";

}  // namespace

std::unique_ptr<MetricsFlusher> startSchedulerMetrics(const Config& config,
                                                      const std::string& replica) {
    const Poco::Int64 webhookRetentionMs = config.webhook.retention.count();
    // Started with webhooks off: the events left pending would wait for ever (no worker tries
    // them, the prune keeps pending ones), DnshWebhookBacklog firing and a deleted domain's name
    // kept; and turned on months later, the receiver would get views that old. Given up as dead
    // a batch a beat until a beat finds less than a batch; the prune then deletes them.
    bool givingUpPending = !config.webhook.enabled();
    Poco::Int64 givenUp = 0;
    auto beat = [replica, webhookRetentionMs, givingUpPending,
                 givenUp](Poco::Data::Session& session) mutable {
        session << "INSERT INTO scheduler_heartbeats (replica) VALUES ($1) "
                   "ON CONFLICT (replica) DO UPDATE SET last_seen_at = now()",
            bind(replica), now;
        // A stopped replica's row stays a day (the last heartbeat stays visible), then goes.
        session << "DELETE FROM scheduler_heartbeats WHERE last_seen_at < now() - interval '1 day'",
            now;
        // The last batch number of a flusher that stored nothing for a day (its process ended,
        // mostly): what keeps metric_counter_batches at about one row per live process.
        session << "DELETE FROM metric_counter_batches WHERE stored_at < now() - interval '1 day'",
            now;
        // New domains are counted as appended rows; each beat folds them into the kept counts so
        // that /metrics sums a few rows, not one per registration (025_registration_deltas.sql).
        runSql(session, "SELECT metric_row_deltas_fold()");
        // Delivered and dead events past WEBHOOK_RETENTION, also with webhooks off now. A batch
        // a beat is 12,000 rows a minute at the 5 s beat: a backlog of millions (a table that
        // grew before this) goes within hours, never in one statement.
        WebhookStore(session).pruneFinished(webhookRetentionMs, kWebhookPruneBatch);
        if (givingUpPending) {
            const Poco::Int64 batch =
                WebhookStore(session).giveUpPending(kWebhooksOff, kWebhookPruneBatch);
            givenUp += batch;
            if (batch < kWebhookPruneBatch) {
                givingUpPending = false;
                if (givenUp > 0)
                    logEvent(LogLevel::Warn, "webhooks are off: pending events given up as dead",
                             {{"events", givenUp}});
            }
        }
    };
    // The heartbeat at least every 5 s: "alive" means a beat in the last 60 s.
    const auto interval = std::min(config.metricsFlushInterval, std::chrono::milliseconds(5000));
    return std::make_unique<MetricsFlusher>(config.databaseUrl, config.databaseLimits, interval,
                                            beat);
}

}  // namespace dnsh
