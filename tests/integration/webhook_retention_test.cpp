// How long the webhook outbox keeps its events (README "Webhooks", WEBHOOK_RETENTION), against the
// real PostgreSQL on a scratch database of the test server: delivered and dead events go once
// they are older than the retention, a batch at a time, by dns-scheduler's heartbeat; pending
// ones stay however old, and recent ones stay.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "events/webhook_store.hpp"
#include "metrics/heartbeat.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

constexpr Poco::Int64 kThirtyDaysMs = 30LL * 24 * 3600 * 1000;

// An event of `state` that finished (was delivered, or given up) `daysAgo` days ago; a pending
// one was due then and is still being tried.
std::string insertEvent(const std::string& eventId, const std::string& state, int daysAgo) {
    const std::string finished = "now() - interval '" + std::to_string(daysAgo) + " days'";
    const std::string created = "now() - interval '" + std::to_string(daysAgo + 3) + " days'";
    return "INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
           "created_at, first_attempt_at, next_attempt_at, delivered_at) VALUES ('" +
           eventId + "', '" + std::string(32, 'a') + "', 'domain.verified', '{}', '" + state +
           "', 1, " + created + ", " + created + ", " + finished + ", " +
           (state == "delivered" ? finished : "NULL") + ");";
}

// The outbox's events: the old delivered and dead ones, and those that must stay.
void insertEvents(ScratchDatabase& scratch, int oldDelivered) {
    std::string sql;
    for (int i = 0; i < oldDelivered; ++i)
        sql += insertEvent("evt_delivered_old_" + std::to_string(i), "delivered", 31);
    sql += insertEvent("evt_dead_old", "dead", 32);  // the oldest
    sql += insertEvent("evt_delivered_recent", "delivered", 29);
    sql += insertEvent("evt_dead_recent", "dead", 29);
    // Held back (or retried) far longer than the retention: still to be delivered.
    sql += insertEvent("evt_pending_old", "pending", 40);
    scratch.run(sql);
}

std::string eventsLeft(ScratchDatabase& scratch) {
    return scratch.text("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM webhook_events");
}

Poco::Int64 prune(ScratchDatabase& scratch, Poco::Int64 batch) {
    return scratch.database().withSession([&](Poco::Data::Session& session) {
        return WebhookStore(session).pruneFinished(kThirtyDaysMs, batch);
    });
}

}  // namespace

TEST_CASE("webhook retention: delivered and dead events past the retention go a batch at a time, "
          "pending and recent ones stay") {
    ScratchDatabase scratch("dnsh_webhook_prune");
    scratch.migrate();
    insertEvents(scratch, 5);
    // One batch a call, both states together, the oldest finished first: the dead one.
    CHECK(prune(scratch, 2) == 2);
    CHECK(scratch.text("SELECT count(*) FROM webhook_events WHERE event_id LIKE "
                       "'evt_delivered_old_%'") == "4");
    CHECK(scratch.text("SELECT count(*) FROM webhook_events WHERE event_id = 'evt_dead_old'") ==
          "0");
    CHECK(prune(scratch, 2) == 2);
    CHECK(prune(scratch, 2) == 2);
    CHECK(prune(scratch, 2) == 0);
    CHECK(eventsLeft(scratch) == "evt_dead_recent,evt_delivered_recent,evt_pending_old");
}

TEST_CASE("webhook retention: dns-scheduler's heartbeat deletes delivered and dead events past "
          "WEBHOOK_RETENTION, also with webhooks off") {
    ScratchDatabase scratch("dnsh_webhook_beat_prune");
    scratch.migrate();
    insertEvents(scratch, 2);
    Config config;  // WEBHOOK_URL empty, WEBHOOK_RETENTION's default: 30 days
    config.databaseUrl = scratch.url();
    config.metricsFlushInterval = std::chrono::milliseconds(200);
    REQUIRE(config.webhook.retention == std::chrono::milliseconds(kThirtyDaysMs));
    const auto beating = startSchedulerMetrics(config, "test:1");
    // The first cycle runs at once; bounded at 10 s.
    const std::string kept = "evt_dead_recent,evt_delivered_recent,evt_pending_old";
    bool pruned = false;
    for (int i = 0; i < 100 && !pruned; ++i) {
        pruned = eventsLeft(scratch) == kept;
        if (!pruned) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(eventsLeft(scratch) == kept);
}

TEST_CASE("webhook retention: 034 builds two indexes on webhook_events, and the prune reads it "
          "through one of them, not a sequential scan") {
    ScratchDatabase scratch("dnsh_webhook_prune_index");
    scratch.migrate();
    // Each index 034 builds is one full read of the table while event writes wait (README
    // "Upgrade"): one for the prune of both states, one for recordDomainEvent's look.
    CHECK(scratch.text("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                       "WHERE tablename = 'webhook_events'") ==
          "webhook_events_domain_idx,webhook_events_event_id_key,webhook_events_finished_idx,"
          "webhook_events_pending_domain_idx,webhook_events_pending_due_idx,webhook_events_pkey");
    insertEvents(scratch, 5);
    // Enough recent events that a sequential scan is not the cheap plan it is for a few rows.
    scratch.run("INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
                "created_at, first_attempt_at, next_attempt_at, delivered_at) "
                "SELECT 'evt_bulk_' || i, md5(i::text), 'domain.verified', '{}', "
                "CASE WHEN i % 10 = 0 THEN 'dead' ELSE 'delivered' END, 1, now(), now(), "
                "now() - (i % 1000) * interval '1 minute', now() - (i % 1000) * interval "
                "'1 minute' FROM generate_series(1, 20000) i; ANALYZE webhook_events");
    std::string plan;
    Poco::Int64 pruned = 0;
    scratch.database().withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            // The statement pruneFinished sends, planned with the values it is given here.
            runSql(session, std::string("PREPARE prune_plan(bigint, bigint) AS ") +
                                WebhookStore::kPruneFinishedSql);
            const SqlRows explained =
                runSql(session, "EXPLAIN EXECUTE prune_plan(" +
                                    std::to_string(kThirtyDaysMs) + ", 2)");
            for (int i = 0; i < explained.size(); ++i)
                plan += explained.text(i, "QUERY PLAN") + "\n";
            runSql(session, "DEALLOCATE prune_plan");
            pruned = WebhookStore(session).pruneFinished(kThirtyDaysMs, 2);
            return true;
        });
    });
    CHECK(pruned == 2);
    // Before, 034's two per-state indexes did not serve the prune of both states at once, and it
    // read all 20,000 rows (and 034 built three indexes, the list above).
    INFO(plan);
    CHECK(plan.find("Index Scan using webhook_events_finished_idx") != std::string::npos);
    CHECK(plan.find("Seq Scan") == std::string::npos);
    CHECK(scratch.text("SELECT count(*) FROM webhook_events WHERE event_id = 'evt_dead_old'") ==
          "0");
}
