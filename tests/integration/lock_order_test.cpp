// Issue 18 #9: one lock order everywhere, so a DELETE /domains/{id} racing a scheduler write on
// the same domain never deadlocks, and transactions about unrelated domains whose backends share
// a metric row-count slot neither wait for each other nor deadlock; nor does a renewalInfo answer
// recorded (ari-refresh, the scheduler's ARI fetches) while a renewal of its domain completes.
//
// Each race is forced, not hoped for: a session of the test holds a row the first party needs
// half-way through its transaction, the second party is started and seen waiting, then the row
// is let go. With the scheduler's write taking the order before the domain, and the delete the
// domain before the order (its cascade), that interleaving is a deadlock PostgreSQL breaks by
// aborting one of them after deadlock_timeout: a 500 for the client whose CA authorizations were
// already deactivated. Each race runs several rounds (bounded) on a scratch database, and
// PostgreSQL must count no deadlock in that database meanwhile. A party that ends before it is
// seen waiting fails the case: the writes would have run one after the other, proving nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/domain_repository.hpp"
#include "issuance/order_store.hpp"
#include "support/cgi.hpp"
#include "support/held_rows.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

constexpr int kRounds = 5;
const std::string kOwner = "lock-order-test";

std::string literal(const std::string& text) {
    return "'" + text + "'";
}

// Deadlocks PostgreSQL broke in the scratch database (pg_stat_database), read once its other
// sessions have ended: a backend flushes its counts when it exits, before it leaves
// pg_stat_activity. Not the server's log: a deploy/up stack (where `-L integration` runs too)
// or a server of DATABASE_URL has none the test can read, and a log counts every database.
long long deadlocksCounted(ScratchDatabase& scratch) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::stoll(scratch.text("SELECT count(*)::text FROM pg_stat_activity "
                                   "WHERE datname = current_database() "
                                   "AND backend_type = 'client backend' "
                                   "AND pid <> pg_backend_pid()")) > 0) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "sessions of the scratch database still open after 10 s: "
                        "its deadlock count is not final");
        std::this_thread::sleep_for(20ms);
    }
    return std::stoll(scratch.text(
        "SELECT deadlocks::text FROM pg_stat_database WHERE datname = current_database()"));
}

// Sessions of the scratch database waiting for a lock.
long long lockWaiters(ScratchDatabase& scratch) {
    return std::stoll(scratch.text(
        "SELECT count(*)::text FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"));
}

// How a party that has ended ended, for a failure message.
std::string ending(std::future<std::string>& party) {
    const std::string result = party.get();
    return result.empty() ? "ok" : result;
}
std::string ending(std::future<HttpResult>& party) {
    try {
        const HttpResult result = party.get();
        return "answered " + std::to_string(result.status) + " " + result.body;
    } catch (const std::exception& e) {
        return std::string("threw: ") + e.what();
    }
}

// Waits until `waiters` sessions wait for a lock, `party` (`who`) among them. A party that ends
// first was never made to wait, so the interleaving was not forced: the case fails, as it does
// after 10 s.
template <typename Result>
void requireWaiting(ScratchDatabase& scratch, long long waiters, std::future<Result>& party,
                    const std::string& who) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (lockWaiters(scratch) < waiters) {
        if (party.wait_for(0s) == std::future_status::ready) {
            const std::string how = ending(party);
            FAIL(who << " ended (" << how << ") before it was seen waiting for a lock: "
                     << "the race was not forced");
        }
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "fewer than " << waiters << " sessions waiting for a lock after 10 s ("
                                      << who << " was to be one)");
        std::this_thread::sleep_for(20ms);
    }
}

// What a party of the race ended with: "" when it succeeded, else its error.
std::future<std::string> runParty(std::function<void()> work) {
    return std::async(std::launch::async, [work = std::move(work)]() -> std::string {
        try {
            work();
            return "";
        } catch (const LeaseLost& e) {
            // The order went with its domain: what a scheduler write finds after a delete.
            return std::string("lease lost: ") + e.what();
        } catch (const std::exception& e) {
            return std::string("error: ") + e.what();
        }
    });
}

struct Fixture {
    std::string domainId;
    std::string orderId;
    std::string certificateId;  // the domain's current certificate (renewals), else ""
};

void ensureAccount(ScratchDatabase& scratch) {
    scratch.run(
        "INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
        "VALUES ('https://ca.test/directory', 'sealed', 'k') ON CONFLICT DO NOTHING");
}

// A domain whose live order (issue or renewal) the test's "scheduler" holds the lease of, its
// certificate key saved (storeCertificate copies it from the row).
Fixture liveOrder(ScratchDatabase& scratch, const std::string& kind) {
    ensureAccount(scratch);
    Fixture fixture{randomHex(16), randomHex(16), ""};
    const bool renewal = kind == "renewal";
    scratch.run(
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
        "VALUES (" +
        literal(fixture.domainId) + ", 'lock-" + fixture.domainId + ".example', '" +
        std::string(64, 'a') + "', " + (renewal ? "'active'" : "'certificate_pending'") +
        ", now())");
    if (renewal) {
        fixture.certificateId = randomHex(16);
        scratch.run(
            "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
            literal(fixture.certificateId) + ", " + literal(fixture.domainId) +
            ", 'pem', 'chain', 'sealed', 'k', now() - interval '60 days', "
            "now() + interval '30 days')");
    }
    scratch.run(
        "INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, finalize_url, "
        "status, step, lease_owner, lease_expires_at, replaces_certificate_id, "
        "cert_key_ciphertext, cert_key_id) VALUES (" +
        literal(fixture.orderId) + ", " + literal(fixture.domainId) + ", '" + kind +
        "', (SELECT id FROM acme_accounts), 'https://ca.test/order/" + fixture.orderId +
        "', 'https://ca.test/finalize/" + fixture.orderId + "', 'processing', 'await_order', " +
        literal(kOwner) + ", now() + interval '1 hour', " +
        (renewal ? literal(fixture.certificateId) : "NULL") + ", 'sealed', 'k')");
    return fixture;
}

StoredOrder storedOrder(const Fixture& fixture, OrderKind kind) {
    StoredOrder order;
    order.id = fixture.orderId;
    order.domainId = fixture.domainId;
    order.kind = kind;
    order.step = OrderStep::AwaitOrder;
    if (!fixture.certificateId.empty()) order.replacesCertificateId = fixture.certificateId;
    return order;
}

NewCertificate newCertificate() {
    NewCertificate certificate;
    certificate.id = randomHex(16);
    certificate.leafPem = "leaf";
    certificate.chainPem = "chain";
    certificate.notBefore = "2026-12-01T00:00:00Z";
    certificate.notAfter = "2027-03-01T00:00:00Z";
    certificate.renewBeforeMs = 30LL * 24 * 3600 * 1000;
    return certificate;
}

// RFC 9773 answers: the time the CA picked, a day from now (ms since the epoch).
Poco::Int64 inOneDayEpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               (std::chrono::system_clock::now() + 24h).time_since_epoch())
        .count();
}

// DELETE /domains/{id} through its handler, on the scratch database.
HttpResult deleteThroughHandler(ScratchDatabase& scratch, const std::string& domainId) {
    CgiRequest request;
    request.method = "DELETE";
    request.path = "/domains/" + domainId;
    request.contentType = "";
    request.env = {{"DATABASE_URL", scratch.url()}, {"LOG_LEVEL", "error"}};
    return runCgi("delete_domain", request);
}

// One scheduler write of an order, racing the delete of its domain.
struct Race {
    const char* description;
    const char* kind;  // the order's: issue or renewal
    std::function<void(OrderStore&, const Fixture&)> write;
};

}  // namespace

TEST_CASE("lock order: DELETE /domains/{id} racing each scheduler write never deadlocks") {
    ScratchDatabase scratch("dnsh_lockorder");
    scratch.migrate();
    const long long deadlocksBefore = deadlocksCounted(scratch);

    const std::vector<Race> races{
        {"issuance completes: certificate stored, domain certificate_pending -> active", "issue",
         [](OrderStore& orders, const Fixture& f) {
             orders.storeCertificate(storedOrder(f, OrderKind::Issue), kOwner, newCertificate());
         }},
        {"issuance fails (the delete deactivated the authorizations): domain -> failed", "issue",
         [](OrderStore& orders, const Fixture& f) {
             orders.fail(storedOrder(f, OrderKind::Issue), kOwner,
                         "the CA's authorization is deactivated", FailureCode::CaInvalid, 60000,
                         60000);
         }},
        {"order replaced by a fresh one (the CA forgot it)", "issue",
         [](OrderStore& orders, const Fixture& f) {
             orders.replace(storedOrder(f, OrderKind::Issue), kOwner);
         }},
        {"renewal completes: a newer certificate stored", "renewal",
         [](OrderStore& orders, const Fixture& f) {
             orders.storeCertificate(storedOrder(f, OrderKind::Renewal), kOwner, newCertificate());
         }},
    };

    for (const Race& race : races) {
        for (int round = 1; round <= kRounds; ++round) {
            const std::string description = race.description;
            CAPTURE(description);
            CAPTURE(round);
            const Fixture fixture = liveOrder(scratch, race.kind);
            // Declared before the held row: whatever stops the case, the row is let go first.
            std::future<std::string> write;
            std::future<HttpResult> deletion;
            Database schedulerDatabase(scratch.url());
            // The scheduler's write stops at the domain's view row (its order trigger rewrites
            // it) until the test lets go.
            HeldRows held(scratch.url(), "SELECT domain_id FROM domain_views WHERE domain_id = " +
                                             literal(fixture.domainId) + " FOR UPDATE");
            write = runParty([&] {
                schedulerDatabase.withSession([&](Poco::Data::Session& session) {
                    OrderStore orders(session);
                    race.write(orders, fixture);
                    return true;
                });
            });
            requireWaiting(scratch, 1, write, "the scheduler's write");
            deletion = std::async(std::launch::async,
                                  [&] { return deleteThroughHandler(scratch, fixture.domainId); });
            // Both parties waiting, then the row is let go. The delete cannot be through first:
            // the write holds the domain row (lockDomain) that the delete removes.
            requireWaiting(scratch, 2, deletion, "the DELETE");
            held.release();
            const std::string written = write.get();
            const HttpResult deleted = deletion.get();
            INFO("scheduler write: " << (written.empty() ? "ok" : written));
            INFO("DELETE answered " << deleted.status << " " << deleted.body);
            CHECK(deleted.status == 204);
            CHECK(written.find("deadlock") == std::string::npos);
            CHECK((written.empty() || written.rfind("lease lost", 0) == 0));
            CHECK(scratch.text("SELECT count(*)::text FROM domains WHERE id = " +
                               literal(fixture.domainId)) == "0");
        }
    }

    CHECK(deadlocksCounted(scratch) == deadlocksBefore);
}

TEST_CASE("lock order: DELETE /domains/{id} racing the renewal scan never deadlocks") {
    ScratchDatabase scratch("dnsh_lockscan");
    scratch.migrate();
    const long long deadlocksBefore = deadlocksCounted(scratch);
    // The renewal scan locks a due certificate, then inserts the renewal order (a key share of
    // the domain row); a delete holds the domain row and cascades to that certificate.
    for (int round = 1; round <= kRounds; ++round) {
        CAPTURE(round);
        ensureAccount(scratch);
        const std::string domainId = randomHex(16), certificateId = randomHex(16),
                          pastOrderId = randomHex(16);
        scratch.run(
            "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
            "VALUES (" +
            literal(domainId) + ", 'scan-" + domainId + ".example', '" + std::string(64, 'a') +
            "', 'active', now());"
            "INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, finalize_url, "
            "status, step) VALUES (" +
            literal(pastOrderId) + ", " + literal(domainId) +
            ", 'issue', (SELECT id FROM acme_accounts), 'https://ca.test/o', "
            "'https://ca.test/f', 'valid', 'done');"
            "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at, renew_at) VALUES (" +
            literal(certificateId) + ", " + literal(domainId) + ", " + literal(pastOrderId) +
            ", 'pem', 'chain', 'sealed', 'k', now() - interval '60 days', "
            "now() + interval '30 days', now() - interval '1 minute')");
        std::future<HttpResult> deletion;
        std::future<std::string> scan;
        Database schedulerDatabase(scratch.url());
        // The delete stops at the domain's past order (its cascade) until the test lets go.
        HeldRows held(scratch.url(), "SELECT id FROM acme_orders WHERE id = " +
                                         literal(pastOrderId) + " FOR UPDATE");
        deletion =
            std::async(std::launch::async, [&] { return deleteThroughHandler(scratch, domainId); });
        requireWaiting(scratch, 1, deletion, "the DELETE");
        scan = runParty([&] {
            schedulerDatabase.withSession([&](Poco::Data::Session& session) {
                OrderStore(session).scheduleRenewals(100);
                return true;
            });
        });
        // The scan may end without waiting: it skips the domain whose row the delete holds
        // (SKIP LOCKED), as it should. The race is forced by the delete being seen waiting
        // with the domain row held; a scan that locks the certificate first waits here instead.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (lockWaiters(scratch) < 2 && scan.wait_for(0s) != std::future_status::ready) {
            REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                            "the renewal scan neither waited for a lock nor ended in 10 s");
            std::this_thread::sleep_for(20ms);
        }
        held.release();
        const std::string scanned = scan.get();
        const HttpResult deleted = deletion.get();
        INFO("renewal scan: " << (scanned.empty() ? "ok" : scanned));
        INFO("DELETE answered " << deleted.status << " " << deleted.body);
        CHECK(deleted.status == 204);
        CHECK(scanned.empty());
        CHECK(scratch.text("SELECT count(*)::text FROM domains WHERE id = " + literal(domainId)) ==
              "0");
    }

    CHECK(deadlocksCounted(scratch) == deadlocksBefore);
}

TEST_CASE("lock order: issue completion and a cascaded delete on one metric slot neither wait nor "
          "deadlock") {
    ScratchDatabase scratch("dnsh_lockslot");
    scratch.migrate();
    ensureAccount(scratch);
    const long long deadlocksBefore = deadlocksCounted(scratch);

    for (int round = 1; round <= kRounds; ++round) {
        CAPTURE(round);
        // Two sessions whose backends would share a slot of metric_row_counts (pid % 16): among
        // 17 sessions two always do.
        std::vector<std::unique_ptr<Database>> sessions;
        std::map<long long, Database*> bySlot;
        Database* completing = nullptr;
        Database* deleting = nullptr;
        for (int i = 0; i < 17 && completing == nullptr; ++i) {
            sessions.push_back(std::make_unique<Database>(scratch.url()));
            const long long pid = sessions.back()->withSession([](Poco::Data::Session& session) {
                return runSql(session, "SELECT pg_backend_pid() AS pid").integer(0, "pid");
            });
            if (const auto seen = bySlot.find(pid % 16); seen != bySlot.end()) {
                completing = seen->second;
                deleting = sessions.back().get();
            } else {
                bySlot[pid % 16] = sessions.back().get();
            }
        }
        REQUIRE(completing != nullptr);

        // Domain P completes its issuance (it has an older certificate, which the test holds:
        // the completion stops there after counting P as active); domain Q, active with a
        // certificate, is deleted meanwhile.
        const Fixture p = liveOrder(scratch, "issue");
        const std::string oldCertificate = randomHex(16);
        scratch.run(
            "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
            literal(oldCertificate) + ", " + literal(p.domainId) +
            ", 'pem', 'chain', 'sealed', 'k', now() - interval '60 days', "
            "now() + interval '30 days')");
        const std::string q = randomHex(16);
        scratch.run(
            "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
            "VALUES (" +
            literal(q) + ", 'slot-" + q + ".example', '" + std::string(64, 'a') +
            "', 'active', now());"
            "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
            literal(randomHex(16)) + ", " + literal(q) +
            ", 'pem', 'chain', 'sealed', 'k', now() - interval '1 day', "
            "now() + interval '80 days')");

        std::future<std::string> completion, deletion;
        HeldRows held(scratch.url(), "SELECT id FROM certificates WHERE id = " +
                                         literal(oldCertificate) + " FOR UPDATE");
        completion = runParty([&] {
            completing->withSession([&](Poco::Data::Session& session) {
                OrderStore(session).storeCertificate(storedOrder(p, OrderKind::Issue), kOwner,
                                                     newCertificate());
                return true;
            });
        });
        requireWaiting(scratch, 1, completion, "the issue completion");
        deletion = runParty([&] {
            deleting->withSession([&](Poco::Data::Session& session) {
                inTransaction(session, [&] { return DomainRepository(session).remove(q); });
                return true;
            });
        });
        // Q has nothing to do with P: its delete must not wait for P's transaction.
        const bool deletedMeanwhile = deletion.wait_for(5s) == std::future_status::ready;
        held.release();
        CHECK_MESSAGE(deletedMeanwhile,
                      "the delete of an unrelated domain waited for another domain's issuance "
                      "(their backends share a slot of metric_row_counts)");
        const std::string completed = completion.get();
        const std::string deleted = deletion.get();
        INFO("completion: " << (completed.empty() ? "ok" : completed));
        INFO("delete: " << (deleted.empty() ? "ok" : deleted));
        CHECK(completed.empty());
        CHECK(deleted.empty());
        CHECK(scratch.text("SELECT status FROM domains WHERE id = " + literal(p.domainId)) ==
              "active");
        // The kept counts still agree with the rows.
        CHECK(scratch.text("SELECT coalesce(sum(value), 0)::text FROM metric_row_counts "
                           "WHERE counter = 'certificates:newest'") ==
              scratch.text("SELECT count(*)::text FROM certificates WHERE superseded_at IS NULL"));
        // The view adds the registrations not folded yet (025_registration_deltas.sql).
        CHECK(scratch.text("SELECT coalesce(sum(value), 0)::text FROM metric_row_totals "
                           "WHERE counter = 'domains:active'") ==
              scratch.text("SELECT count(*)::text FROM domains WHERE status = 'active'"));
    }

    CHECK(deadlocksCounted(scratch) == deadlocksBefore);
}

TEST_CASE("lock order: a renewal stored or failing racing a renewalInfo answer for the certificate "
          "it replaces never deadlocks") {
    ScratchDatabase scratch("dnsh_lockari");
    scratch.migrate();
    const long long deadlocksBefore = deadlocksCounted(scratch);
    // The renewal's last write holds the domain row, then its order's trigger takes the view
    // row, then it updates the domain's certificates. The answer (OrderStore::recordAri, what
    // ari-refresh --all and the scheduler's ARI fetches run) updates the certificate's renew_at,
    // whose trigger takes the view row: it must take the domain row before the certificate.
    struct RenewalEnd {
        const char* description;
        std::function<void(OrderStore&, const Fixture&)> write;
        bool stored;  // a newer certificate stored; else the renewal failed
    };
    const std::vector<RenewalEnd> races{
        {"renewal completes: a newer certificate stored",
         [](OrderStore& orders, const Fixture& f) {
             orders.storeCertificate(storedOrder(f, OrderKind::Renewal), kOwner, newCertificate());
         },
         true},
        {"renewal fails: the current certificate stays, its retry set",
         [](OrderStore& orders, const Fixture& f) {
             orders.fail(storedOrder(f, OrderKind::Renewal), kOwner, "the CA refused the order",
                         FailureCode::CaInvalid, 60000, 60000);
         },
         false},
    };

    for (const RenewalEnd& race : races) {
        for (int round = 1; round <= kRounds; ++round) {
            const std::string description = race.description;
            CAPTURE(description);
            CAPTURE(round);
            const Fixture fixture = liveOrder(scratch, "renewal");
            Database schedulerDatabase(scratch.url());
            Database ariDatabase(scratch.url());
            // Declared before the held row: whatever stops the case, the row is let go first.
            std::future<std::string> write;
            std::future<std::string> answer;
            // The renewal's write stops at the domain's view row (its order trigger rewrites it)
            // until the test lets go.
            HeldRows held(scratch.url(), "SELECT domain_id FROM domain_views WHERE domain_id = " +
                                             literal(fixture.domainId) + " FOR UPDATE");
            write = runParty([&] {
                schedulerDatabase.withSession([&](Poco::Data::Session& session) {
                    OrderStore orders(session);
                    race.write(orders, fixture);
                    return true;
                });
            });
            requireWaiting(scratch, 1, write, "the renewal's write");
            answer = runParty([&] {
                ariDatabase.withSession([&](Poco::Data::Session& session) {
                    return OrderStore(session).recordAri(fixture.certificateId, inOneDayEpochMs(),
                                                         3'600'000);
                });
            });
            requireWaiting(scratch, 2, answer, "the renewalInfo answer");
            held.release();
            const std::string written = write.get();
            const std::string answered = answer.get();
            INFO("renewal's write: " << (written.empty() ? "ok" : written));
            INFO("renewalInfo answer: " << (answered.empty() ? "ok" : answered));
            CHECK(written.empty());
            CHECK(answered.empty());
            const std::string current =
                scratch.text("SELECT id FROM certificates WHERE superseded_at IS NULL "
                             "AND domain_id = " +
                             literal(fixture.domainId));
            if (race.stored) {
                // The certificate the renewal stored (its order's) is the current one.
                CHECK(scratch.text("SELECT coalesce(order_id, '') FROM certificates WHERE id = " +
                                   literal(current)) == fixture.orderId);
            } else {
                CHECK(current == fixture.certificateId);
                CHECK(scratch.text("SELECT renewal_failures::text FROM certificates WHERE id = " +
                                   literal(current)) == "1");
            }
            // The view shows it.
            CHECK(scratch.text("SELECT coalesce(cert_id, '') FROM domain_views WHERE domain_id = " +
                               literal(fixture.domainId)) == current);
        }
    }

    CHECK(deadlocksCounted(scratch) == deadlocksBefore);
}
