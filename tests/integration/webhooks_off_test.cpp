// Webhooks turned off with events still pending (README "Webhooks", WEBHOOK_URL), against the
// real PostgreSQL on a scratch database: dns-scheduler's heartbeat, started with WEBHOOK_URL
// empty, gives up as dead ("webhooks turned off") the events pending longer than
// WEBHOOK_RETRY_WINDOW, more than one batch of them and on every beat, but not one under
// another replica's running lease nor one held back behind its domain's head until that head is
// gone, and leaves newer ones for a replica with webhooks on;
// /metrics rendered with webhooks off shows no backlog
// (DnshWebhookBacklog), with them on the real one, and with them off but on for a live scheduler
// replica the real one too; WEBHOOK_RETENTION deletes the dead. Started with webhooks on, the
// heartbeat leaves pending events to its delivery workers and records that it delivers.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
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

// Left pending when webhooks were turned off (WEBHOOK_RETRY_WINDOW's default, 3 days):
// - past the window: 2,500 first tried 40 days ago (more than one beat's batch of 1,000), and
//   one another replica is delivering (first tried 40 days ago, its lease still running);
// - within it: one first tried a day ago, one never tried written now, and a domain's head
//   first tried a day ago (written 5 days ago, itself held back that long) with one held back
//   behind it, never tried and written 4 days ago: its window has not started;
// and one delivered, which stays as it is.
void insertLeftovers(ScratchDatabase& scratch) {
    scratch.run("INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
                "created_at, first_attempt_at, next_attempt_at, last_error) "
                "SELECT 'evt_pending_' || i, md5(i::text), 'domain.verified', '{}', 'pending', 3, "
                "now() - interval '40 days', now() - interval '40 days', "
                "now() - interval '40 days', 'HTTP 500' FROM generate_series(1, 2500) i;"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, attempts, "
                "created_at, first_attempt_at, next_attempt_at, last_error) VALUES "
                "('evt_held_head', md5('held'), 'domain.verified', '{}', 5, "
                "now() - interval '5 days', now() - interval '1 day', "
                "now() - interval '1 minute', 'HTTP 503');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, created_at, "
                "next_attempt_at) VALUES ('evt_held_back_old', md5('held'), 'domain.deleted', "
                "'{}', now() - interval '4 days', now() - interval '4 days');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, attempts, "
                "created_at, first_attempt_at, next_attempt_at, last_error) VALUES "
                "('evt_retrying', md5('retrying'), 'domain.verified', '{}', 5, "
                "now() - interval '1 day', now() - interval '1 day', "
                "now() - interval '1 minute', 'HTTP 503');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload) "
                "VALUES ('evt_never_tried', md5('never'), 'domain.deleted', '{}');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, attempts, "
                "created_at, first_attempt_at, next_attempt_at, lease_owner, lease_expires_at) "
                "VALUES ('evt_leased', md5('leased'), 'certificate.issued', '{}', 3, "
                "now() - interval '40 days', now() - interval '40 days', "
                "now() - interval '40 days', 'host:42:webhook-0', now() + interval '50 seconds');"
                "INSERT INTO webhook_events (event_id, domain_id, type, payload, state, attempts, "
                "delivered_at) VALUES ('evt_delivered', md5('done'), 'domain.verified', '{}', "
                "'delivered', 1, now())");
}

long long count(ScratchDatabase& scratch, const std::string& where) {
    return std::stoll(scratch.text("SELECT count(*) FROM webhook_events WHERE " + where));
}

std::string stateOf(ScratchDatabase& scratch, const std::string& eventId) {
    return scratch.text("SELECT state FROM webhook_events WHERE event_id = '" + eventId + "'");
}

const std::string kGivenUp = "state = 'dead' AND last_error = 'webhooks turned off'";

// Bounded at 10 s: the heartbeat's first cycle runs at once, then one every 200 ms.
bool waitUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 100; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

std::string scrapeOf(ScratchDatabase& scratch, Webhooks webhooks) {
    return scratch.database().withSession(
        [&](Poco::Data::Session& session) { return renderMetrics(session, {}, webhooks); });
}

// The value of an unlabelled gauge in `scrape`; -1 when it is not there.
double gauge(const std::string& scrape, const std::string& name) {
    const auto at = scrape.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(scrape.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("webhooks off: dns-scheduler's heartbeat gives up as dead the events pending past "
          "WEBHOOK_RETRY_WINDOW on every beat, keeps newer ones, /metrics with webhooks off "
          "shows no backlog, and WEBHOOK_RETENTION deletes them") {
    ScratchDatabase scratch("dnsh_webhooks_off");
    scratch.migrate();
    insertLeftovers(scratch);
    Config config;  // WEBHOOK_URL empty, WEBHOOK_RETRY_WINDOW 3 days
    config.databaseUrl = scratch.url();
    config.metricsFlushInterval = std::chrono::milliseconds(200);
    {
        const auto beating = startSchedulerMetrics(config, "test:1");
        // Before: pending for ever, the gauge 40 days and growing (DnshWebhookBacklog firing).
        CHECK(waitUntil([&] { return count(scratch, kGivenUp) >= 2500; }));
        std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few beats more
        // Within the window they stay pending: a scheduler with WEBHOOK_URL set (another
        // replica, or this one restarted with it) still delivers them. Before: all dead.
        CHECK(stateOf(scratch, "evt_retrying") == "pending");
        CHECK(stateOf(scratch, "evt_never_tried") == "pending");
        CHECK(stateOf(scratch, "evt_held_head") == "pending");
        // Held back behind that head, never tried and written 4 days ago: delivery would try it
        // once the head is answered or given up, with its own window from then. Before: dead on
        // the first beat, its creation counted as if it had been tried ("webhooks turned off").
        CHECK(stateOf(scratch, "evt_held_back_old") == "pending");
        // Its head given up by delivery (the end of its window, as markFailed does it): now the
        // head itself, past the window by its creation, it goes on a later beat.
        scratch.run("UPDATE webhook_events SET state = 'dead', next_attempt_at = now() "
                    "WHERE event_id = 'evt_held_head'");
        CHECK(waitUntil([&] { return stateOf(scratch, "evt_held_back_old") == "dead"; }));
        // Past it but under another replica's lease: pending while the lease runs, its
        // delivery's outcome still recorded by markDelivered or markFailed. Before: dead, the
        // lease cleared, and a 2xx from the receiver recorded nowhere ("lost lease").
        CHECK(stateOf(scratch, "evt_leased") == "pending");
        CHECK(scratch.text("SELECT lease_owner FROM webhook_events WHERE event_id = "
                           "'evt_leased'") == "host:42:webhook-0");
        // That replica stopped: once its lease has run out, a later beat gives it up.
        scratch.run("UPDATE webhook_events SET lease_expires_at = now() - interval '1 second' "
                    "WHERE event_id = 'evt_leased'");
        CHECK(waitUntil([&] { return stateOf(scratch, "evt_leased") == "dead"; }));
        // On every beat, not only from the start: one that passes its window later goes too.
        // Before: the give-up stopped at the first short batch and this one stayed pending.
        scratch.run("INSERT INTO webhook_events (event_id, domain_id, type, payload, attempts, "
                    "created_at, first_attempt_at, next_attempt_at) VALUES ('evt_later', "
                    "md5('later'), 'domain.verified', '{}', 9, now() - interval '4 days', "
                    "now() - interval '4 days', now() - interval '1 day')");
        CHECK(waitUntil([&] { return stateOf(scratch, "evt_later") == "dead"; }));
        // Another replica alive with webhooks on delivers: this one gives up nothing meanwhile,
        // not even an event past its window (that replica may be claiming it). Before: dead on
        // the next beat, whatever the other replica was doing.
        scratch.run("INSERT INTO scheduler_heartbeats (replica, webhooks_on) "
                    "VALUES ('other:8:5eedfeed', true)");
        scratch.run("INSERT INTO webhook_events (event_id, domain_id, type, payload, attempts, "
                    "created_at, first_attempt_at, next_attempt_at) VALUES ('evt_beside_on', "
                    "md5('beside'), 'domain.verified', '{}', 9, now() - interval '4 days', "
                    "now() - interval '4 days', now() - interval '1 day')");
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // five beats
        CHECK(stateOf(scratch, "evt_beside_on") == "pending");
        // That replica gone (no heartbeat for 2 minutes): given up on a later beat.
        scratch.run("UPDATE scheduler_heartbeats SET last_seen_at = now() - interval '2 minutes' "
                    "WHERE replica = 'other:8:5eedfeed'");
        CHECK(waitUntil([&] { return stateOf(scratch, "evt_beside_on") == "dead"; }));
    }
    CHECK(count(scratch, kGivenUp + " AND lease_owner IS NULL AND lease_expires_at IS NULL") ==
          2504);
    CHECK(count(scratch, "state = 'pending'") == 2);
    // Attempts are kept as they were: only the state and its reason change.
    CHECK(scratch.text("SELECT attempts FROM webhook_events WHERE event_id = 'evt_pending_1'") ==
          "3");
    CHECK(stateOf(scratch, "evt_held_back_old") == "dead");
    CHECK(stateOf(scratch, "evt_delivered") == "delivered");

    // Rendered by a metrics handler with webhooks off, the two left pending raise no
    // DnshWebhookBacklog (before: 2, and a day for evt_retrying); with webhooks on, as a handler
    // beside a scheduler started without WEBHOOK_URL by mistake, the real backlog shows.
    const std::string off = scrapeOf(scratch, Webhooks::Off);
    INFO(off);
    CHECK(gauge(off, "dnsh_webhook_outbox_backlog") == 0);
    CHECK(gauge(off, "dnsh_webhook_oldest_pending_age_seconds") == 0);
    const std::string on = scrapeOf(scratch, Webhooks::On);
    INFO(on);
    CHECK(gauge(on, "dnsh_webhook_outbox_backlog") == 2);
    CHECK(gauge(on, "dnsh_webhook_oldest_pending_age_seconds") >= 24 * 3600);
    // This scheduler's heartbeat (fresh, webhooks off) is no delivering replica: the 0 above.
    CHECK(scratch.text("SELECT webhooks_on::text FROM scheduler_heartbeats WHERE replica = "
                       "'test:1'") == "false");
    // A handler that lost WEBHOOK_URL beside a live scheduler replica that has it: the events
    // are being delivered, so a receiver's outage must still show. Before: 0 and 0, and
    // DnshWebhookBacklog silent until events died days later.
    scratch.run("INSERT INTO scheduler_heartbeats (replica, webhooks_on) "
                "VALUES ('other:7:0badcafe', true)");
    const std::string offBesideOn = scrapeOf(scratch, Webhooks::Off);
    INFO(offBesideOn);
    CHECK(gauge(offBesideOn, "dnsh_webhook_outbox_backlog") == 2);
    CHECK(gauge(offBesideOn, "dnsh_webhook_oldest_pending_age_seconds") >= 24 * 3600);
    // That replica stopped (no heartbeat for 2 minutes, not alive): 0 again.
    scratch.run("UPDATE scheduler_heartbeats SET last_seen_at = now() - interval '2 minutes' "
                "WHERE replica = 'other:7:0badcafe'");
    const std::string offAfterOn = scrapeOf(scratch, Webhooks::Off);
    INFO(offAfterOn);
    CHECK(gauge(offAfterOn, "dnsh_webhook_outbox_backlog") == 0);

    // Given up now: kept WEBHOOK_RETENTION from now (the 30 days' prune leaves them), then
    // deleted like any dead event.
    const auto prune = [&](Poco::Int64 retentionMs) {
        return scratch.database().withSession([&](Poco::Data::Session& session) {
            return WebhookStore(session).pruneFinished(retentionMs, 5000);
        });
    };
    CHECK(prune(30LL * 24 * 3600 * 1000) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(prune(10) == 2506);  // the delivered one and the head delivery gave up too
    CHECK(count(scratch, "true") == 2);
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
    CHECK(count(scratch, "state = 'pending'") == 2505);
    // Recorded with its heartbeat: a /metrics handler with webhooks off shows the real backlog
    // while this replica is alive. Without that write it would read "false", the default.
    CHECK(scratch.text("SELECT webhooks_on::text FROM scheduler_heartbeats WHERE replica = "
                       "'test:1'") == "true");
}
