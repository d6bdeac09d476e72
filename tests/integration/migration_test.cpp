// Migrations upgrade a live database without losing work (issue "renewal": the order becomes the
// unit of work): a database at 002 with a certificate_pending domain mid-issuance, an active
// domain with its certificate, and a certificate_pending domain without an order, upgraded to
// the newest schema on a scratch database of the test server.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "log/log.hpp"
#include "support/database.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kPending(32, 'a'), kActive(32, 'b'), kOrphan(32, 'c');

// True when `sql` was refused by a CHECK rule (the one named `constraint`, when given), false when
// it ran; a failure of another kind fails the test.
bool refusedByRule(ScratchDatabase& scratch, const std::string& sql,
                   const std::string& constraint = "") {
    try {
        scratch.run(sql);
        return false;
    } catch (const std::exception& e) {
        const std::string detail = errorDetail(e);
        const std::string expected =
            constraint.empty() ? "check constraint" : "check constraint \"" + constraint + "\"";
        CHECK_MESSAGE(detail.find(expected) != std::string::npos, detail);
        return true;
    }
}

}  // namespace

TEST_CASE("migrations: a database at 002 with work in flight upgrades without losing it") {
    ScratchDatabase scratch("dnsh_migrate");
    scratch.migrate("002_order_retries");
    REQUIRE(scratch.text("SELECT count(*) FROM schema_migrations") == "2");
    const std::string token(64, '0');
    scratch.run(
        "INSERT INTO acme_accounts (id, directory_url, account_url, key_ciphertext, key_id) "
        "VALUES (1, 'https://ca.test/dir', 'https://ca.test/acct/1', 'sealed', 'k');"
        // Mid-issuance, leased by a scheduler of the old version, next attempt in 5 s.
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at, "
        "  next_attempt_at, lease_owner, lease_expires_at) VALUES ('" +
        kPending + "', 'pending.example', '" + token +
        "', 'certificate_pending', now(), now() + interval '5 seconds', 'old-replica', "
        "  now() + interval '30 seconds');"
        "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, step, "
        "  retries) VALUES ('" +
        std::string(32, '1') + "', '" + kPending +
        "', 1, 'https://ca.test/o/1', 'https://ca.test/f/1', 'await_dns', 2);"
        "INSERT INTO acme_challenges (order_id, authorization_url, challenge_url, token, "
        "  txt_name, txt_value) VALUES ('" +
        std::string(32, '1') +
        "', 'https://ca.test/a/1', 'https://ca.test/c/1', 't', "
        "  '_acme-challenge.pending.example', 'value');"
        // Active with a 90-day certificate issued 10 days ago.
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
        "VALUES ('" +
        kActive + "', 'active.example', '" + token +
        "', 'active', now());"
        "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, status, "
        "  step) VALUES ('" +
        std::string(32, '2') + "', '" + kActive +
        "', 1, 'https://ca.test/o/2', 'https://ca.test/f/2', 'valid', 'done');"
        "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
        "  private_key_ciphertext, key_id, issued_at, expires_at) VALUES ('" +
        std::string(32, '3') + "', '" + kActive + "', '" + std::string(32, '2') +
        "', 'pem', 'chain', 'sealed', 'k', now() - interval '10 days', "
        "  now() + interval '80 days');"
        // certificate_pending with no order at all (a handler of the old version died midway).
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
        "VALUES ('" +
        kOrphan + "', 'orphan.example', '" + token + "', 'certificate_pending', now());");

    scratch.migrate();

    // The order in flight keeps its place in the queue, its lease and its retries.
    CHECK(scratch.text("SELECT status FROM domains WHERE id = '" + kPending + "'") ==
          "certificate_pending");
    CHECK(scratch.text("SELECT concat_ws('|', kind, step, status, lease_owner, attempts, "
                       "generation, next_attempt_at > now(), lease_expires_at > now()) "
                       "FROM acme_orders WHERE domain_id = '" +
                       kPending + "'") == "issue|await_dns|pending|old-replica|2|1|t|t");
    CHECK(scratch.text("SELECT count(*) FROM acme_challenges") == "1");
    // The active domain's certificate renews a third of its lifetime before it expires.
    CHECK(scratch.text("SELECT round(extract(epoch FROM expires_at - renew_at) / 86400) "
                       "FROM certificates WHERE domain_id = '" +
                       kActive + "'") == "30");
    CHECK(scratch.text("SELECT status FROM domains WHERE id = '" + kActive + "'") == "active");
    // The order-less one cannot progress: failed, with a reason and a code, ready for a retry.
    CHECK(scratch.text("SELECT concat_ws('|', status, error_code) FROM domains WHERE id = '" +
                       kOrphan + "'") == "failed|internal");
    CHECK_FALSE(scratch.text("SELECT error FROM domains WHERE id = '" + kOrphan + "'").empty());
    // The old queue columns are gone: nothing can keep using them by mistake.
    CHECK(scratch.text("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                       "'domains' AND column_name IN ('lease_owner', 'next_attempt_at')") == "0");
    // Running the migrations again changes nothing.
    scratch.migrate();
    CHECK(scratch.text("SELECT count(*) FROM schema_migrations") ==
          std::to_string(embeddedMigrations().size()));
}

// The rules of a domains row (001_init.sql, 004_delegation.sql, 018_dns_persist.sql; since
// 021_domain_value_types.sql the domain types of its columns, and one table CHECK;
// 030_idempotency_keys.sql): every bad value refused, on INSERT and on UPDATE; NULLs pass where
// they may.
TEST_CASE("migrations: the domains row rules refuse every bad value, on insert and update") {
    ScratchDatabase scratch("dnsh_row_rules");
    scratch.migrate();
    const std::string id(32, 'a'), token(64, 'b');
    // An INSERT with one column replaced; true when a rule (the one named `constraint`, when
    // given) refused it.
    auto refused = [&](const std::string& column, const std::string& value,
                       const std::string& constraint = "") {
        std::map<std::string, std::string> row{{"id", "'" + id + "'"},
                                               {"domain_name", "'ok.example'"},
                                               {"verification_token", "'" + token + "'"},
                                               {"status", "'pending'"},
                                               {"verified_at", "NULL"},
                                               {"delegation_status", "'not_seen'"},
                                               {"validation_method", "NULL"},
                                               {"idempotency_key", "NULL"}};
        row[column] = value;
        std::string columns, values;
        for (const auto& [name, literal] : row) {
            columns += (columns.empty() ? "" : ", ") + name;
            values += (values.empty() ? "" : ", ") + literal;
        }
        if (refusedByRule(scratch, "INSERT INTO domains (" + columns + ") VALUES (" + values + ")",
                          constraint))
            return true;
        scratch.run("DELETE FROM domains");
        return false;
    };
    CHECK_FALSE(refused("status", "'pending'"));
    CHECK_FALSE(refused("validation_method", "'dns-persist-01'"));
    const std::string idRule = "domain_row_id_check", tokenRule = "domain_row_token_check";
    CHECK(refused("id", quoted(std::string(32, 'A')), idRule));
    CHECK(refused("id", quoted(std::string(31, 'a')), idRule));
    CHECK(refused("domain_name", "'Upper.example'"));
    CHECK(refused("domain_name", "'ab'"));
    CHECK(refused("domain_name", quoted(std::string(254, 'a'))));
    CHECK(refused("verification_token", quoted(std::string(63, 'b')), tokenRule));
    CHECK(refused("verification_token", quoted(std::string(64, 'g')), tokenRule));
    // The hexadecimal rules are a length and a class since 023_hex_rules.sql: one character too
    // many, and the right length with a line break or a letter outside ASCII at the end.
    for (const std::string& bad : {std::string(33, 'a'), std::string(31, 'a') + "\n",
                                   std::string(31, 'a') + "\u00e9", std::string(31, 'a') + "g"}) {
        CAPTURE(bad);
        CHECK(refused("id", quoted(bad), idRule));
    }
    for (const std::string& bad : {std::string(65, 'b'), std::string(63, 'b') + "\n",
                                   std::string(63, 'b') + "\u00e9"}) {
        CAPTURE(bad);
        CHECK(refused("verification_token", quoted(bad), tokenRule));
    }
    CHECK(refused("status", "'done'"));
    CHECK(refused("status", "'verified'"));  // verified needs verified_at
    CHECK_FALSE(refused("verified_at", "now()"));
    CHECK(refused("delegation_status", "'gone'"));
    CHECK(refused("validation_method", "'http-01'"));
    // The Idempotency-Key's rule is the handler's (http/idempotency_key.hpp): 1-255 printable
    // ASCII characters.
    const std::string keyRule = "domain_row_idempotency_key_check";
    CHECK_FALSE(refused("idempotency_key", "'8e03978e-40d5-43e8-bc93-6894a57f9324'"));
    CHECK_FALSE(refused("idempotency_key", quoted(" !\"~" + std::string(251, 'k'))));
    CHECK(refused("idempotency_key", "''", keyRule));
    CHECK(refused("idempotency_key", quoted(std::string(256, 'k')), keyRule));
    for (const std::string& bad : {std::string("k\n"), std::string("k\t"),
                                   std::string("k\u00e9"), std::string("k\x7f")}) {
        CAPTURE(bad);
        CHECK(refused("idempotency_key", quoted(bad), keyRule));
    }

    // An UPDATE is held to the same rules.
    scratch.run("INSERT INTO domains (id, domain_name, verification_token) VALUES ('" + id +
                "', 'ok.example', '" + token + "')");
    for (const std::string assignment :
         {"status = 'verified'", "status = 'nope'", "domain_name = 'UP.example'",
          "delegation_status = 'x'", "validation_method = 'x'"}) {
        CAPTURE(assignment);
        CHECK_THROWS(scratch.run("UPDATE domains SET " + assignment));
    }
    scratch.run("UPDATE domains SET status = 'verified', verified_at = now()");
    CHECK(scratch.text("SELECT status FROM domains") == "verified");

    // One row per key (domains_idempotency_key_idx); any number without one.
    scratch.run("DELETE FROM domains");
    auto insert = [&](char idChar, const std::string& name, const std::string& key) {
        scratch.run("INSERT INTO domains (id, domain_name, verification_token, idempotency_key) "
                    "VALUES ('" + std::string(32, idChar) + "', '" + name + "', '" + token +
                    "', " + key + ")");
    };
    insert('1', "one.example", "NULL");
    insert('2', "two.example", "NULL");
    insert('3', "three.example", "'key-1'");
    try {
        insert('4', "four.example", "'key-1'");
        FAIL_CHECK("a second row with key-1 was stored");
    } catch (const std::exception& e) {
        CHECK_MESSAGE(errorDetail(e).find("domains_idempotency_key_idx") != std::string::npos,
                      errorDetail(e));
    }
    CHECK(scratch.text("SELECT count(*) FROM domains") == "3");
}

// The ids of orders and certificates (001_init.sql, a length and a class since 023_hex_rules.sql):
// 32 lowercase hexadecimal characters, on INSERT and on UPDATE.
TEST_CASE("migrations: order and certificate ids are 32 lowercase hexadecimal characters") {
    ScratchDatabase scratch("dnsh_hex_ids");
    scratch.migrate();
    const std::string domain(32, 'd');
    scratch.run("INSERT INTO domains (id, domain_name, verification_token) VALUES ('" + domain +
                "', 'ids.example', '" + std::string(64, 'e') + "')");
    // The values quoted first: GCC 12 warns (-Wrestrict, falsely) on "literal" + a temporary.
    const std::string domainValue = quoted(domain);
    auto insertOrder = [&](const std::string& id) {
        const std::string idValue = quoted(id);
        return "INSERT INTO acme_orders (id, domain_id, step) VALUES (" + idValue + ", " +
               domainValue + ", 'place_order')";
    };
    auto insertCertificate = [&](const std::string& id) {
        const std::string idValue = quoted(id);
        return "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
               "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
               idValue + ", " + domainValue + ", 'pem', 'chain', 'sealed', 'k', now(), now())";
    };
    const std::vector<std::string> bad{std::string(31, 'a'),
                                       std::string(33, 'a'),
                                       std::string(32, 'A'),
                                       std::string(31, 'a') + "g",
                                       std::string(31, 'a') + "\n",
                                       std::string(31, 'a') + "\u00e9"};
    for (const auto& id : bad) {
        CAPTURE(id);
        CHECK(refusedByRule(scratch, insertOrder(id), "acme_orders_id_check"));
        CHECK(refusedByRule(scratch, insertCertificate(id), "certificates_id_check"));
    }
    const std::string good = "0123456789abcdef0123456789abcdef";
    scratch.run(insertOrder(good));
    scratch.run(insertCertificate(good));
    for (const auto& id : bad) {
        CAPTURE(id);
        const std::string idValue = quoted(id);
        CHECK(refusedByRule(scratch, "UPDATE acme_orders SET id = " + idValue,
                            "acme_orders_id_check"));
        CHECK(refusedByRule(scratch, "UPDATE certificates SET id = " + idValue,
                            "certificates_id_check"));
    }
    const std::string goodValue = quoted(good);
    CHECK(scratch.text("SELECT count(*) FROM acme_orders WHERE id = " + goodValue) == "1");
}

// A process that prepared statements before `dnsh-admin migrate` (an old binary during a rolling
// upgrade, README "Upgrade") keeps running them after it. Migration 021 changed domains.id and
// status from text to domain types: PostgreSQL then refuses a statement prepared before, on every
// execution ("cached plan must not change result type", SQLSTATE 0A000), and runSql used to keep
// its name until the connection closed (every request reading the domain answered 500).
TEST_CASE("migrations: statements prepared before 021 changed their result types run after it") {
    ScratchDatabase scratch("dnsh_reprepare");
    scratch.migrate("020_session_metric_slots");
    const std::string id(32, 'e');
    scratch.run("INSERT INTO domains (id, domain_name, verification_token) VALUES ('" + id +
                "', 'prepared.example', '" + std::string(64, 'f') + "')");
    // A connection of its own, as a handler's: the scratch database's migrates.
    Database database(scratch.url());
    const std::string outside = "SELECT id, status FROM domains WHERE id = $1";
    const std::string inside = "SELECT id, status FROM domains WHERE id = $1 FOR UPDATE";
    auto read = [&](Poco::Data::Session& session, const std::string& sql) {
        const SqlRows rows = runSql(session, sql, {id});
        REQUIRE(rows.size() == 1);
        return rows.text(0, "id") + "|" + rows.text(0, "status");
    };
    const std::string expected = id + "|pending";
    auto readInTransaction = [&](Poco::Data::Session& session) {
        std::string seen;
        inTransaction(session, [&] {
            seen = read(session, inside);
            return true;
        });
        return seen;
    };
    // Both prepared on the connection at 020.
    CHECK(database.withSession([&](Poco::Data::Session& session) {
        return read(session, outside);
    }) == expected);
    CHECK(database.withSession(readInTransaction) == expected);

    scratch.migrate();
    REQUIRE(scratch.text("SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = "
                         "'domains'::regclass AND attname = 'status'") == "domain_row_status");

    // Outside a transaction: prepared again and run, at once (twice: the new name stays).
    for (int call = 0; call < 2; ++call) {
        CAPTURE(call);
        CHECK(database.withSession([&](Poco::Data::Session& session) {
            return read(session, outside);
        }) == expected);
    }
    // Inside one: at worst the retryable error (503 with Retry-After), then it runs. Called
    // outside CHECK, which would take the exception for a failure of its own.
    std::optional<std::string> first;
    try {
        first = database.withSession(readInTransaction);
    } catch (const Error& e) {
        CHECK_MESSAGE(e.code() == ErrorCode::DatabaseTimeout, e.what());
    }
    if (first) CHECK(*first == expected);
    CHECK(database.withSession(readInTransaction) == expected);
}
