// The state gauges of /metrics at a bounded cost (007_metrics.sql): row counts kept by triggers
// and the newest certificate marked on insert. After each real change (and after upgrading a
// database that already holds rows) the kept counts must equal what a full count says, and
// renderMetrics must expose them. On a scratch database of the test server.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "metrics/exposition.hpp"
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
        "WITH kept AS (SELECT counter, sum(value) AS n FROM metric_row_counts GROUP BY counter "
        "              HAVING sum(value) <> 0), "
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
        [](Poco::Data::Session& session) { return renderMetrics(session); });
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
    CHECK(expired.find("dnsh_certificates{expires_within=\"1d\"} 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates{expires_within=\"+Inf\"} 2\n") != std::string::npos);
    CHECK(expired.find("dnsh_renewals_overdue 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates_renewal_failing 1\n") != std::string::npos);
    CHECK(expired.find("dnsh_certificates_expired 1\n") != std::string::npos);
    const double soonest = std::stod(scratch.text(
        "SELECT extract(epoch FROM expires_at) FROM certificates WHERE id = '" + id('6') + "'"));
    CHECK(expired.find("dnsh_certificate_soonest_expiry_timestamp_seconds " +
                       formatMetricNumber(soonest)) != std::string::npos);
    CHECK(countsDisagree(scratch) == "");
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

    run(first, insertDomain('a', "pending"));
    // Reserved once, kept after the commit: the next statement pays no reservation.
    CHECK(slotsHeld(first) == 1);
    const std::string slot = slotOf(first);
    CHECK_FALSE(slot.empty());
    run(first, insertDomain('b', "active"));
    CHECK(slotsHeld(first) == 1);
    CHECK(slotOf(first) == slot);

    // A backend whose first count is rolled back: the setting is undone, the lock is not; it
    // finds the slot it holds instead of taking a second.
    second.withSession([](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            runSql(session, insertDomain('c', "pending"));
            return false;  // rolled back
        });
    });
    CHECK(slotsHeld(second) == 1);
    const std::string secondSlot = slotOf(second);
    CHECK(secondSlot.empty());
    run(second, insertDomain('d', "pending"));
    CHECK(slotsHeld(second) == 1);
    CHECK_FALSE(slotOf(second).empty());
    CHECK(slotOf(second) != slot);

    // Updates and deletes count in the same slot; the kept counts agree with the rows.
    run(second, "UPDATE domains SET status = 'failed' WHERE id = '" + id('d') + "'");
    run(first, "DELETE FROM domains WHERE id = '" + id('a') + "'");
    CHECK(slotsHeld(first) == 1);
    CHECK(slotsHeld(second) == 1);
    CHECK(countsDisagree(scratch) == "");
    CHECK(scratch.text("SELECT count(DISTINCT slot) FROM metric_row_counts") == "2");
}
