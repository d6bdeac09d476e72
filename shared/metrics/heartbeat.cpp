#include "metrics/heartbeat.hpp"

#include <algorithm>
#include <string>

#include "db/sql.hpp"
#include "events/webhook_store.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr Poco::Int64 kWebhookPruneBatch = 1000;  // delivered and dead together, per beat
constexpr const char* kWebhooksOff = "webhooks turned off";

}  // namespace

std::unique_ptr<MetricsFlusher> startSchedulerMetrics(const Config& config,
                                                      const std::string& replica) {
    const Poco::Int64 webhookRetentionMs = config.webhook.retention.count();
    // Webhooks off here: the events pending longer than WEBHOOK_RETRY_WINDOW would wait for
    // ever (no worker tries them, the prune keeps pending ones), DnshWebhookBacklog firing
    // wherever a handler has webhooks on, and a deleted domain's name kept. Given up as dead, a
    // batch a beat, on every beat: those delivery would already have given up (each domain's
    // head only, so one held back behind a head still retried is kept). Newer ones wait
    // for a replica with WEBHOOK_URL set (another, or this one restarted with it): a scheduler
    // started without it by mistake gives up nothing that would still be delivered.
    const bool webhooksOff = !config.webhook.enabled();
    const Poco::Int64 retryWindowMs = config.webhook.retryWindow.count();
    Poco::Int64 givenUp = 0;  // since the last warning
    // webhooks_on: a /metrics handler with webhooks off shows the real backlog while a live
    // replica delivers (exposition.cpp, renderWebhookOutbox).
    const std::string beatSql =
        std::string("INSERT INTO scheduler_heartbeats (replica, webhooks_on) VALUES ($1, ") +
        (webhooksOff ? "false" : "true") +
        ") ON CONFLICT (replica) DO UPDATE SET last_seen_at = now(), "
        "webhooks_on = excluded.webhooks_on";
    auto beat = [replica, beatSql, webhookRetentionMs, webhooksOff, retryWindowMs,
                 givenUp](Poco::Data::Session& session) mutable {
        // Through runSql, as every write outside a transaction block: its commit's wait is
        // bounded (db/commit_wait.hpp); Poco's statements wait as long as a standby takes.
        runSql(session, beatSql, {replica});
        // A stopped replica's row stays a day (the last heartbeat stays visible), then goes.
        runSql(session,
               "DELETE FROM scheduler_heartbeats WHERE last_seen_at < now() - interval '1 day'");
        // The last batch number of a flusher that stored nothing for a day (its process ended,
        // mostly): what keeps metric_counter_batches at about one row per live process.
        runSql(session,
               "DELETE FROM metric_counter_batches WHERE stored_at < now() - interval '1 day'");
        // New domains are counted as appended rows; each beat folds them into the kept counts so
        // that /metrics sums a few rows, not one per registration (025_registration_deltas.sql).
        runSql(session, "SELECT metric_row_deltas_fold()");
        // Delivered and dead events past WEBHOOK_RETENTION, also with webhooks off now. A batch
        // a beat is 12,000 rows a minute at the 5 s beat: a backlog of millions (a table that
        // grew before this) goes within hours, never in one statement.
        WebhookStore(session).pruneFinished(webhookRetentionMs, kWebhookPruneBatch);
        if (webhooksOff) {
            const Poco::Int64 batch = WebhookStore(session).giveUpPending(
                kWebhooksOff, retryWindowMs, kWebhookPruneBatch);
            givenUp += batch;
            // One warning when a run of them ends, not one a beat.
            if (batch < kWebhookPruneBatch && givenUp > 0) {
                logEvent(LogLevel::Warn,
                         "webhooks are off: events pending past WEBHOOK_RETRY_WINDOW given up "
                         "as dead",
                         {{"events", givenUp}});
                givenUp = 0;
            }
        }
    };
    // The heartbeat at least every 5 s: "alive" means a beat in the last 60 s.
    const auto interval = std::min(config.metricsFlushInterval, std::chrono::milliseconds(5000));
    return std::make_unique<MetricsFlusher>(config.databaseUrl, config.databaseLimits, interval,
                                            beat);
}

}  // namespace dnsh
