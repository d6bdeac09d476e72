// The state gauges of /metrics at a bounded cost (007_metrics.sql): row counts kept by triggers
// and the newest certificate marked on insert. After each real change (and after upgrading a
// database that already holds rows) the kept counts must equal what a full count says, and
// renderMetrics must expose them. On a scratch database of the test server.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "metrics/exposition.hpp"
#include "metrics/heartbeat.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kToken(64, '0');

std::string id(char c) {
    return std::string(32, c);
}

std::string insertDomain(char c, const std::string& status) {
    return "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) VALUES "
           "('" +
           id(c) + "', 'd" + std::string(1, c) + ".example', '" + kToken + "', '" + status +
           "', now());";
}

// A certificate of domain `d` created `ageDays` ago, expiring in `expiresInDays`.
std::string insertCertificate(char c, char d, int ageDays, int expiresInDays) {
    return "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at, created_at) VALUES ('" +
           id(c) + "', '" + id(d) + "', 'pem', 'chain', 'sealed', 'k', now() - interval '" +
           std::to_string(ageDays) + " days', now() + interval '" + std::to_string(expiresInDays) +
           " days', now() - interval '" + std::to_string(ageDays) + " days');";
}

// Kept counts against full counts: "" when they agree, else what differs.
std::string countsDisagree(ScratchDatabase& scratch) {
    return scratch.text(
        "WITH kept AS (SELECT counter, value AS n FROM metric_row_totals WHERE value <> 0), "
        "real AS (SELECT 'domains:' || status AS counter, count(*) AS n FROM domains GROUP BY "
        "status "
        "         UNION ALL SELECT 'certificates:newest', count(DISTINCT domain_id) FROM "
        "certificates) "
        "SELECT string_agg(coalesce(k.counter, r.counter) || ' kept ' || coalesce(k.n, 0) || "
        "                  ' real ' || coalesce(r.n, 0), '; ') "
        "FROM kept k FULL JOIN real r ON r.counter = k.counter "
        "WHERE coalesce(k.n, 0) <> coalesce(r.n, 0)");
}

// Domains whose newest certificate (by created_at) is not the one left unsuperseded.
std::string newestDisagree(ScratchDatabase& scratch) {
    return scratch.text(
        "SELECT string_agg(domain_id, ',') FROM (SELECT DISTINCT ON (domain_id) domain_id, id, "
        "  superseded_at FROM certificates ORDER BY domain_id, created_at DESC, id DESC) newest "
        "WHERE superseded_at IS NOT NULL OR (SELECT count(*) FROM certificates c "
        "  WHERE c.domain_id = newest.domain_id AND c.superseded_at IS NULL) <> 1");
}

std::string scrapeOf(ScratchDatabase& scratch) {
    return scratch.database().withSession(
        [](Poco::Data::Session& session) { return renderMetrics(session, {}, Webhooks::On); });
}

}  // namespace

TEST_CASE("metrics counts: kept by triggers through every change, and from rows already there") {
    ScratchDatabase scratch("dnsh_metrics");
    scratch.migrate("006_webhooks");
    // Rows from before the upgrade: an active domain renewed once, two pending.
    scratch.run(insertDomain('a', "active") + insertDomain('b', "pending") +
                insertDomain('c', "pending") + insertCertificate('1', 'a', 100, -10) +
                insertCertificate('2', 'a', 10, 80));
    scratch.migrate();

    struct Step {
        std::string description, sql;
    };
    const std::vector<Step> steps{
        {"upgraded from rows already there", ""},
        {"a domain registered", insertDomain('d', "pending")},
        {"several in one statement",
         "INSERT INTO domains (id, domain_name, verification_token, status) SELECT "
         "  repeat(to_hex(i), 16), 'm' || i || '.example', '" +
             kToken + "', 'pending' FROM generate_series(16, 21) i;"},
        {"several statuses in one statement",
         "INSERT INTO domains (id, domain_name, verification_token, status) SELECT "
         "  repeat(to_hex(i), 16), 'n' || i || '.example', '" +
             kToken +
             "', CASE WHEN i % 2 = 0 THEN 'failed' ELSE 'certificate_pending' END "
             "FROM generate_series(22, 25) i;"},
        {"the registrations folded into the kept counts", "SELECT metric_row_deltas_fold();"},
        {"verified", "UPDATE domains SET status = 'verified' WHERE id = '" + id('b') + "';"},
        {"an update that keeps the status", "UPDATE domains SET updated_at = now();"},
        {"issued", "UPDATE domains SET status = 'active' WHERE id = '" + id('b') + "';" +
                       insertCertificate('3', 'b', 1, 89)},
        {"renewed: the new certificate is the newest", insertCertificate('4', 'b', 0, 90)},
        {"an older certificate stored late stays superseded", insertCertificate('5', 'b', 50, 40)},
        {"a renewal failing",
         "UPDATE certificates SET renewal_failures = 1 WHERE id = '" + id('2') + "';"},
        {"a domain deleted with its certificates",
         "DELETE FROM domains WHERE id = '" + id('a') + "';"},
        {"a rolled back change counts nothing",
         "BEGIN; " + insertDomain('e', "pending") + " ROLLBACK;"},
    };
    for (const auto& step : steps) {
        CAPTURE(step.description);
        if (!step.sql.empty()) scratch.run(step.sql);
        CHECK(countsDisagree(scratch) == "");
        CHECK(newestDisagree(scratch) == "");
    }

    const std::string text = scrapeOf(scratch);
    INFO(text);
    CHECK(text.find("dnsh_domains{status=\"pending\"} 8\n") != std::string::npos);
    CHECK(text.find("dnsh_domains{status=\"active\"} 1\n") != std::string::npos);
    CHECK(text.find("dnsh_certificates{expires_within=\"30d\"} 0\n") != std::string::npos);
    CHECK(text.find("dnsh_certificates{expires_within=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(text.find("dnsh_renewals_overdue 0\n") != std::string::npos);
    // Domain a (deleted) had the failing renewal; b's newest certificate has none.
    CHECK(text.find("dnsh_certificates_renewal_failing 0\n") != std::string::npos);
    CHECK(text.find("dnsh_certificates_expired 0\n") != std::string::npos);

    // An expired newest certificate is in every bucket, overdue, and the soonest expiry.
    scratch.run(insertDomain('f', "active") + insertCertificate('6', 'f', 90, -1) +
                "UPDATE certificates SET renewal_failures = 3 WHERE id = '" + id('6') + "';");
    const std::string expired = scrapeOf(scratch);
    INFO(expired);
    // Domain f is not folded yet: counted from its appended row.
    CHECK(expired.find("dnsh_domains{status=\"active\"} 2\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates{expires_within=\"1d\"} 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates{expires_within=\"+Inf\"} 2\n") != std::string::npos);
    CHECK(expired.find("dnsh_renewals_overdue 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates_renewal_failing 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates_expired 1\n") != std::string::npos);
    const double soonest = std::stod(scratch.text(
        "SELECT extract(epoch FROM expires_at) FROM certificates WHERE id = '" + id('6') + "'"));
    CHECK(expired.find("dnsh_certificate_soonest_expiry_timestamp_seconds " +
                       formatMetricNumber(soonest)) != std::string::npos);
    // The expired one lived 89 days: stuck renewal, in the long-lived 7-day count.
    CHECK(expired.find("dnsh_certificates_long_lived{expires_within=\"7d\"} 1\n") !=
          std::string::npos);
    CHECK(countsDisagree(scratch) == "");

    // A healthy short-lived certificate (6 days, 2 left) is within 7 days but not long-lived:
    // the alert's count stays at the stuck one.
    scratch.run(insertDomain('9', "active") + insertCertificate('7', '9', 4, 2));
    const std::string shortLived = scrapeOf(scratch);
    INFO(shortLived);
    CHECK(shortLived.find("dnsh_certificates{expires_within=\"7d\"} 2\n") != std::string::npos);
    CHECK(shortLived.find("dnsh_certificates_long_lived{expires_within=\"7d\"} 1\n") !=
          std::string::npos);
}

TEST_CASE("metrics counts: a backend counts in one slot for its whole life, also after a "
          "rollback, and no two backends share one") {
    ScratchDatabase scratch("dnsh_metric_slots");
    scratch.migrate();
    Database first(scratch.url());
    Database second(scratch.url());
    auto run = [](Database& database, const std::string& sql) {
        database.withSession([&](Poco::Data::Session& session) { return runSql(session, sql); });
    };
    // The slots this backend holds (advisory locks of the slot space, 020_session_metric_slots),
    // and the one it counts in.
    auto slotsHeld = [](Database& database) {
        return database.withSession([](Poco::Data::Session& session) {
            return runSql(session,
                          "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' "
                          "AND pid = pg_backend_pid() AND classid = 1836282996")
                .integer(0, "n");
        });
    };
    auto slotOf = [](Database& database) {
        return database.withSession([](Poco::Data::Session& session) {
            return runSql(session, "SELECT current_setting('dnsh.metric_row_slot', true) AS slot")
                .text(0, "slot");
        });
    };

    // A registration appends a row (025_registration_deltas.sql): it reserves no slot.
    run(first, insertDomain('a', "pending"));
    CHECK(slotsHeld(first) == 0);
    scratch.run(insertDomain('b', "pending") + insertDomain('c', "pending") +
                insertDomain('d', "pending"));

    // A change of status is counted in a slot: reserved once, kept after the commit, so the next
    // statement pays no reservation.
    auto fail = [](char c) {
        return "UPDATE domains SET status = 'failed' WHERE id = '" + id(c) + "'";
    };
    run(first, fail('a'));
    CHECK(slotsHeld(first) == 1);
    const std::string slot = slotOf(first);
    CHECK_FALSE(slot.empty());
    run(first, fail('b'));
    CHECK(slotsHeld(first) == 1);
    CHECK(slotOf(first) == slot);

    // A backend whose first count is rolled back: the setting is undone, the lock is not; it
    // finds the slot it holds instead of taking a second.
    second.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            runSql(session, fail('c'));
            return false;  // rolled back
        });
    });
    CHECK(slotsHeld(second) == 1);
    const std::string secondSlot = slotOf(second);
    CHECK(secondSlot.empty());
    run(second, fail('d'));
    CHECK(slotsHeld(second) == 1);
    CHECK_FALSE(slotOf(second).empty());
    CHECK(slotOf(second) != slot);

    // Deletes count in the same slot; the kept counts agree with the rows.
    run(first, "DELETE FROM domains WHERE id = '" + id('a') + "'");
    run(second, "DELETE FROM domains WHERE id = '" + id('c') + "'");
    CHECK(slotsHeld(first) == 1);
    CHECK(slotsHeld(second) == 1);
    CHECK(countsDisagree(scratch) == "");
    CHECK(scratch.text("SELECT count(DISTINCT slot) FROM metric_row_counts") == "2");
}

TEST_CASE("metrics counts: a fold takes only committed registrations, a batch at a time, and "
          "two folds at once count each one once") {
    ScratchDatabase scratch("dnsh_metric_fold");
    scratch.migrate();
    Database registering(scratch.url());
    Database folding(scratch.url());
    Database otherFolding(scratch.url());
    auto fold = [](Database& database, const std::string& maxRows = "") {
        return database.withSession([&](Poco::Data::Session& session) {
            return runSql(session, "SELECT metric_row_deltas_fold(" + maxRows + ") AS n")
                .integer(0, "n");
        });
    };
    auto appended = [&] { return scratch.text("SELECT count(*) FROM metric_row_deltas"); };

    scratch.run(insertDomain('a', "pending") + insertDomain('b', "active"));
    CHECK(appended() == "2");
    // A registration still in its transaction: the fold neither sees nor deletes its row.
    registering.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            runSql(session, insertDomain('c', "pending"));
            CHECK(fold(folding) == 2);
            return true;
        });
    });
    CHECK(appended() == "1");
    CHECK(countsDisagree(scratch) == "");
    CHECK(fold(folding) == 1);
    CHECK(appended() == "0");
    CHECK(countsDisagree(scratch) == "");

    // A backlog is folded a batch at a time.
    scratch.run(insertDomain('1', "pending") + insertDomain('2', "pending") +
                insertDomain('3', "pending") + insertDomain('4', "pending") +
                insertDomain('5', "pending"));
    CHECK(fold(folding, "2") == 2);
    CHECK(appended() == "3");
    CHECK(countsDisagree(scratch) == "");
    CHECK(fold(folding) == 3);
    CHECK(countsDisagree(scratch) == "");

    // A fold left open while a second one runs: the second waits for the first's rows, finds them
    // deleted when it commits, and adds nothing.
    scratch.run(insertDomain('d', "pending") + insertDomain('e', "pending"));
    int second = -1;
    std::thread other;
    struct JoinAtExit {
        std::thread& thread;
        ~JoinAtExit() {
            if (thread.joinable()) thread.join();
        }
    } joinAtExit{other};
    folding.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            CHECK(runSql(session, "SELECT metric_row_deltas_fold() AS n").integer(0, "n") == 2);
            other = std::thread([&] { second = static_cast<int>(fold(otherFolding)); });
            // Until it waits on a row lock (bounded: 10 s).
            bool waiting = false;
            for (int i = 0; i < 200 && !waiting; ++i) {
                waiting = scratch.text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                       "current_database() AND wait_event_type = 'Lock' AND "
                                       "query LIKE '%metric_row_deltas_fold%'") == "1";
                if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            CHECK(waiting);
            return true;  // committed: the second fold goes on
        });
    });
    other.join();
    CHECK(second == 0);
    CHECK(appended() == "0");
    CHECK(countsDisagree(scratch) == "");
    CHECK(scratch.text("SELECT sum(value) FROM metric_row_counts WHERE counter = "
                       "'domains:pending'") == "9");
}

TEST_CASE("metrics counts: a backlog that came after the fold's plan was made is folded within "
          "the statement timeout") {
    // The heartbeat's session lives as long as dns-scheduler and PL/pgSQL keeps the fold's plan
    // for it: made while the table was empty, it must still fold a registration burst in time.
    // A plan that tests every row against every picked row (a sequential scan filtered by
    // `ctid = ANY (array)`) took 4.3 s for a burst under the API benchmark and about 30 s for
    // 100,000 rows: past DB_STATEMENT_TIMEOUT, so the fold failed at every heartbeat while the
    // backlog only grew.
    ScratchDatabase scratch("dnsh_metric_fold_burst");
    scratch.migrate();
    // No autovacuum here: its statistics would have the plan remade, hiding a stale one.
    scratch.run("ALTER TABLE metric_row_deltas SET (autovacuum_enabled = false)");
    Database folding(scratch.url());
    folding.withSession([&](Poco::Data::Session& session) {
        // Past PL/pgSQL's five custom plans: the generic plan, as a long-lived session has it.
        for (int i = 0; i < 7; ++i)
            CHECK(runSql(session, "SELECT metric_row_deltas_fold() AS n").integer(0, "n") == 0);
        scratch.run("INSERT INTO metric_row_deltas (counter, value) "
                    "SELECT 'domains:pending', 1 FROM generate_series(1, 100000)");
        // A linear fold of 100,000 rows takes ~0.3 s on the 2-core CI machine: 15 times less.
        runSql(session, "SET statement_timeout = '5s'");
        CHECK(runSql(session, "SELECT metric_row_deltas_fold() AS n").integer(0, "n") == 100000);
        return true;
    });
    CHECK(scratch.text("SELECT count(*) FROM metric_row_deltas") == "0");
    CHECK(scratch.text("SELECT sum(value) FROM metric_row_counts WHERE counter = "
                       "'domains:pending'") == "100000");
}

TEST_CASE("metrics counts: dns-scheduler's heartbeat folds the registrations into the kept counts "
          "and deletes batch numbers a day old") {
    ScratchDatabase scratch("dnsh_metric_beat_fold");
    scratch.migrate();
    scratch.run(insertDomain('a', "pending") + insertDomain('b', "pending"));
    // The last batch numbers of two flushers (032_metric_counter_batches.sql): one that stored
    // nothing for two days, one that stored a minute ago.
    scratch.run("INSERT INTO metric_counter_batches (flusher, batch, stored_at) VALUES "
                "('gone', 7, now() - interval '2 days'), "
                "('live', 9, now() - interval '1 minute')");
    REQUIRE(scratch.text("SELECT count(*) FROM metric_row_deltas") == "2");
    Config config;
    config.databaseUrl = scratch.url();
    config.metricsFlushInterval = std::chrono::milliseconds(200);
    const auto beating = startSchedulerMetrics(config, "test:1");
    // The first cycle runs at once; bounded at 10 s.
    bool folded = false;
    for (int i = 0; i < 100 && !folded; ++i) {
        folded = scratch.text("SELECT count(*) FROM metric_row_deltas") == "0";
        if (!folded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(folded);
    CHECK(scratch.text("SELECT count(*) FROM scheduler_heartbeats WHERE replica = 'test:1'") ==
          "1");
    // The fold runs after the delete, in the same beat.
    CHECK(scratch.text("SELECT string_agg(flusher, ',' ORDER BY flusher) FROM "
                       "metric_counter_batches WHERE flusher IN ('gone', 'live')") == "live");
    CHECK(scratch.text("SELECT sum(value) FROM metric_row_counts WHERE counter = "
                       "'domains:pending'") == "2");
    CHECK(countsDisagree(scratch) == "");
}
