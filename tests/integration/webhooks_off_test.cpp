// Webhooks turned off with events still pending (README "Webhooks", WEBHOOK_URL), against the
// real PostgreSQL on a scratch database: dns-scheduler's heartbeat, started with WEBHOOK_URL
// empty, gives them up as dead ("webhooks turned off"), more than one batch of them, so that
// /metrics no longer shows a backlog (DnshWebhookBacklog) and WEBHOOK_RETENTION deletes them.
// Started with webhooks on, it leaves them pending for its delivery workers.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "events/webhook_store.hpp"
#include "metrics/exposition.hpp"
#include "metrics/heartbeat.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

// Left pending when webhooks were turned off: 2,500 due 40 days ago (more than one beat's batch
// of 1,000), one never attempted, and one a replica was delivering when it stopped (its lease
// still running); and one delivered, which stays as it is.
void insertLeftovers(ScratchDatabase& scratch) {
    scratch.run("INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
                "created_at, first_attempt_at, next_attempt_at, last_error) "
                "SELECT 'evt_pending_' || i, md5(i::text), 'domain.verified', '{}', 'pending', 3, "
                "now() - interval '40 days', now() - interval '40 days', "
                "now() - interval '40 days', 'HTTP 500' FROM generate_series(1, 2500) i;"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload) "
                "VALUES ('evt_never_tried', md5('never'), 'domain.deleted', '{}');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, lease_owner, "
                "lease_expires_at) VALUES ('evt_leased', md5('leased'), 'certificate.issued', "
                "'{}', 'host:42:webhook-0', now() + interval '50 seconds');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
                "delivered_at) VALUES ('evt_delivered', md5('done'), 'domain.verified', '{}', "
                "'delivered', 1, now())");
}

std::string pendingCount(ScratchDatabase& scratch) {
    return scratch.text("SELECT count(*) FROM webhook_events WHERE state = 'pending'");
}

// Bounded at 10 s: the heartbeat's first cycle runs at once, then one every 200 ms.
bool waitForNoPending(ScratchDatabase& scratch) {
    for (int i = 0; i < 100; ++i) {
        if (pendingCount(scratch) == "0") return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

std::string scrapeOf(ScratchDatabase& scratch) {
    return scratch.database().withSession(
        [](Poco::Data::Session& session) { return renderMetrics(session, {}); });
}

}  // namespace

TEST_CASE("webhooks off: dns-scheduler's heartbeat gives the events left pending up as dead, "
          "/metrics shows no backlog, and WEBHOOK_RETENTION deletes them") {
    ScratchDatabase scratch("dnsh_webhooks_off");
    scratch.migrate();
    insertLeftovers(scratch);
    Config config;  // WEBHOOK_URL empty
    config.databaseUrl = scratch.url();
    config.metricsFlushInterval = std::chrono::milliseconds(200);
    {
        const auto beating = startSchedulerMetrics(config, "test:1");
        // Before: pending for ever, the gauge 40 days and growing (DnshWebhookBacklog firing).
        CHECK(waitForNoPending(scratch));
    }
    CHECK(pendingCount(scratch) == "0");
    CHECK(scratch.text("SELECT count(*) FROM webhook_events WHERE state = 'dead' AND "
                       "last_error = 'webhooks turned off' AND lease_owner IS NULL AND "
                       "lease_expires_at IS NULL") == "2502");
    // Attempts are kept as they were: only the state and its reason change.
    CHECK(scratch.text("SELECT attempts FROM webhook_events WHERE event_id = 'evt_pending_1'") ==
          "3");
    CHECK(scratch.text("SELECT state FROM webhook_events WHERE event_id = 'evt_delivered'") ==
          "delivered");
    const std::string scrape = scrapeOf(scratch);
    INFO(scrape);
    CHECK(scrape.find("\ndnsh_webhook_outbox_backlog 0\n") != std::string::npos);
    CHECK(scrape.find("\ndnsh_webhook_oldest_pending_age_seconds 0\n") != std::string::npos);

    // Given up now: kept WEBHOOK_RETENTION from now (the 30 days' prune leaves them), then
    // deleted like any dead event.
    const auto prune = [&](Poco::Int64 retentionMs) {
        return scratch.database().withSession([&](Poco::Data::Session& session) {
            return WebhookStore(session).pruneFinished(retentionMs, 5000);
        });
    };
    CHECK(prune(30LL * 24 * 3600 * 1000) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(prune(10) == 2503);  // the delivered one too
    CHECK(scratch.text("SELECT count(*) FROM webhook_events") == "0");
}

TEST_CASE("webhooks off: started with webhooks on, the heartbeat leaves pending events to the "
          "delivery workers") {
    ScratchDatabase scratch("dnsh_webhooks_on");
    scratch.migrate();
    insertLeftovers(scratch);
    Config config;
    config.databaseUrl = scratch.url();
    config.metricsFlushInterval = std::chrono::milliseconds(200);
    config.webhook.url = "http://127.0.0.1:9/";  // never called: no delivery worker here
    {
        const auto beating = startSchedulerMetrics(config, "test:1");
        // A few beats: the heartbeat row written, then more.
        for (int i = 0; i < 100 && scratch.text("SELECT count(*) FROM scheduler_heartbeats") ==
                                       "0"; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
    }
    CHECK(pendingCount(scratch) == "2502");
}
