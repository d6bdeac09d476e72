// What the scheduler stores from a CA's renewalInfo (RFC 9773), on a scratch database through
// OrderStore: a renewal that failed keeps its retry time, a certificate a renewal replaced
// while its renewalInfo was being fetched is not fetched again, one of a CA the scheduler does
// not have is not claimed, and a window after the certificate's expiry renews it no later than
// its last tenth (overdue_at).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "crypto/random.hpp"
#include "issuance/order_store.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

constexpr Poco::Int64 kHourMs = 3'600'000;
// The CA of every certificate of these cases (certificateDueForAri).
const std::string kCa = "https://ca.test/directory";

Poco::Int64 nowEpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An active domain with one certificate, its renewalInfo due now; returns the certificate's id.
std::string certificateDueForAri(ScratchDatabase& scratch) {
    const std::string domainId = randomHex(16);
    const std::string certificateId = randomHex(16);
    const std::string orderId = randomHex(16);
    scratch.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
                "VALUES ('" + kCa + "', 'sealed', 'k') ON CONFLICT DO NOTHING");
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES ('" + domainId + "', 'ari-" + domainId + ".example', '" +
                std::string(64, 'a') + "', 'active', now())");
    // The order it came from names the CA to ask.
    scratch.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                "finalize_url, status, step) VALUES ('" + orderId + "', '" + domainId +
                "', 'issue', (SELECT id FROM acme_accounts), 'https://ca.test/order/" + orderId +
                "', 'https://ca.test/finalize/" + orderId + "', 'valid', 'done')");
    scratch.run("INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
                "private_key_ciphertext, key_id, issued_at, expires_at, renew_at, "
                "ari_next_fetch_at) VALUES ('" + certificateId + "', '" + domainId +
                "', '" + orderId + "', 'pem', 'chain', 'sealed', 'k', now() - interval '60 days', "
                "now() + interval '30 days', now() + interval '10 days', now())");
    return certificateId;
}

Poco::Int64 renewAtMs(ScratchDatabase& scratch, const std::string& certificateId) {
    return std::stoll(scratch.text(
        "SELECT (extract(epoch FROM renew_at) * 1000)::bigint::text FROM certificates "
        "WHERE id = '" + certificateId + "'"));
}

}  // namespace

TEST_CASE("ari store: a window in the past does not pull a failed renewal's retry earlier") {
    ScratchDatabase scratch("dnsh_ari_store");
    scratch.migrate();
    const std::string certificateId = certificateDueForAri(scratch);
    // What OrderStore::fail leaves after a renewal failed: the next try an hour away (the 24 h
    // wait after a lost delegation CNAME is the same shape).
    scratch.run("UPDATE certificates SET renewal_failures = 1, "
                "renew_at = now() + interval '1 hour' WHERE id = '" + certificateId + "'");

    scratch.database().withSession([&](Poco::Data::Session& session) {
        // RFC 9773 §4.2: a window that has passed means "renew now"; it still waits for the
        // retry the failure asked for.
        OrderStore(session).recordAri(certificateId, nowEpochMs() - kHourMs, kHourMs);
        return true;
    });
    CHECK(renewAtMs(scratch, certificateId) > nowEpochMs() + kHourMs - 60'000);

    // A window later than the retry moves it later, as for any certificate.
    const Poco::Int64 later = nowEpochMs() + 5 * kHourMs;
    scratch.database().withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(certificateId, later, kHourMs);
        return true;
    });
    CHECK(renewAtMs(scratch, certificateId) == later);
}

TEST_CASE("ari store: a certificate with no failed renewal follows the window, also to now") {
    ScratchDatabase scratch("dnsh_ari_store");
    scratch.migrate();
    const std::string certificateId = certificateDueForAri(scratch);
    const Poco::Int64 passed = nowEpochMs() - kHourMs;
    const auto stored = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).recordAri(certificateId, passed, kHourMs);
    });
    CHECK(renewAtMs(scratch, certificateId) == passed);
    // Come by the database's clock, which the renewal scan reads (dnsh-admin ari-refresh's
    // "due now").
    REQUIRE(stored.has_value());
    CHECK(stored->due);
}

TEST_CASE("ari store: a certificate replaced while its renewalInfo was fetched is not fetched "
          "again") {
    ScratchDatabase scratch("dnsh_ari_store");
    scratch.migrate();
    const std::string old = certificateDueForAri(scratch);
    const auto claimed = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimAriFetches(10, kHourMs, {kCa});
    });
    REQUIRE(claimed.size() == 1);
    // Meanwhile a renewal stores the domain's next certificate (as OrderStore::storeCertificate
    // does): the old one is superseded and nothing about it is due any more.
    scratch.run("UPDATE certificates SET renew_at = NULL, ari_next_fetch_at = NULL "
                "WHERE id = '" + old + "'");
    scratch.run("INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
                "private_key_ciphertext, key_id, issued_at, expires_at) SELECT '" +
                randomHex(16) + "', domain_id, 'pem2', 'chain', 'sealed', 'k', now(), "
                "now() + interval '90 days' FROM certificates WHERE id = '" + old + "'");
    REQUIRE(scratch.text("SELECT (superseded_at IS NOT NULL)::text FROM certificates WHERE id = '" +
                         old + "'") == "true");

    // The fetch of the old one comes back.
    const auto stored = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).recordAri(old, nowEpochMs() + kHourMs, 1);
    });
    CHECK_FALSE(stored.has_value());
    CHECK(scratch.text("SELECT coalesce(ari_next_fetch_at::text, 'none') FROM certificates "
                       "WHERE id = '" + old + "'") == "none");
    CHECK(scratch.text("SELECT coalesce(renew_at::text, 'none') FROM certificates WHERE id = '" +
                       old + "'") == "none");

    // Nor claimed, should its next fetch have been set before (a row stored by an older
    // version).
    scratch.run("UPDATE certificates SET ari_next_fetch_at = now() - interval '1 s' WHERE id = '" +
                old + "'");
    const auto again = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimAriFetches(10, kHourMs, {kCa});
    });
    CHECK(again.empty());
}

TEST_CASE("ari store: a certificate of a CA the scheduler does not have is left due for one "
          "that has it") {
    ScratchDatabase scratch("dnsh_ari_store");
    scratch.migrate();
    const std::string certificateId = certificateDueForAri(scratch);
    const std::string nextFetch =
        "SELECT (ari_next_fetch_at <= now())::text FROM certificates WHERE id = '" +
        certificateId + "'";
    // Replicas with different ACME_CAS: one without the certificate's CA claims nothing (before,
    // it took the certificate and put it off by ARI_MAX_WAIT, unasked), and leaves it due.
    const auto elsewhere = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimAriFetches(10, kHourMs, {"https://other-ca.test/dir"});
    });
    CHECK(elsewhere.empty());
    CHECK(scratch.text(nextFetch) == "true");
    // One that has it (among others) takes it.
    const auto here = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).claimAriFetches(10, kHourMs,
                                                   {"https://other-ca.test/dir", kCa});
    });
    REQUIRE(here.size() == 1);
    CHECK(here.front().certificateId == certificateId);
    CHECK(here.front().caDirectory == kCa);
    CHECK(scratch.text(nextFetch) == "false");  // held for the claim
}

TEST_CASE("ari store: a window after the certificate's expiry renews it when its last tenth "
          "begins, not after it expired") {
    ScratchDatabase scratch("dnsh_ari_store");
    scratch.migrate();
    // 90 days issued 60 days ago: it expires in 30 days, its last tenth (overdue_at) begins in 21.
    const std::string certificateId = certificateDueForAri(scratch);
    const Poco::Int64 afterExpiry = nowEpochMs() + 31 * 24 * kHourMs;
    const auto stored = scratch.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).recordAri(certificateId, afterExpiry, kHourMs);
    });
    const std::string where = " FROM certificates WHERE id = '" + certificateId + "'";
    // RFC 9773 §4.2 leaves the time to the client. Before, renew_at was the window's, a day
    // after expires_at: nothing renewed it before it expired.
    CHECK(scratch.text("SELECT (renew_at = overdue_at AND renew_at < expires_at)::text" + where) ==
          "true");
    REQUIRE(stored.has_value());
    CHECK(stored->renewAtEpochMs == renewAtMs(scratch, certificateId));
    CHECK_FALSE(stored->due);  // three weeks away

    // After a failed renewal too: its retry, if later, stands; the window cannot pass overdue_at.
    scratch.run("UPDATE certificates SET renewal_failures = 1, "
                "renew_at = now() + interval '1 hour' WHERE id = '" + certificateId + "'");
    scratch.database().withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(certificateId, afterExpiry, kHourMs);
        return true;
    });
    CHECK(scratch.text("SELECT (renew_at = overdue_at)::text" + where) == "true");
}
