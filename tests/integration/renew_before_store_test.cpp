// Where a certificate stored with RENEW_BEFORE renews (README "How issuance and renewal work",
// RENEW_BEFORE), against the real PostgreSQL on a scratch database through
// OrderStore::storeCertificate: a RENEW_BEFORE under a tenth of the lifetime renews at least an
// hour before overdue_at (the start of the last tenth), from which dnsh_renewals_overdue and its
// alert count a renewal that should have started; and no renew_at is stored after overdue_at,
// whatever the session's TimeZone (the trigger adds whole days in it).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"
#include "issuance/renewal_time.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kOwner = "renew-before-test";

// An active domain with a renewal order this test holds the lease of, its certificate key
// saved, as the scheduler's await_order step has it when the CA has issued.
StoredOrder renewalOrderHeld(ScratchDatabase& scratch) {
    StoredOrder order;
    order.id = randomHex(16);
    order.domainId = randomHex(16);
    order.kind = OrderKind::Renewal;
    scratch.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
                "VALUES ('https://ca.test/directory', 'sealed', 'k') ON CONFLICT DO NOTHING");
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES ('" + order.domainId + "', 'renew-" + order.domainId + ".example', '" +
                std::string(64, 'a') + "', 'active', now())");
    scratch.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                "finalize_url, status, step, lease_owner, lease_expires_at, cert_key_ciphertext, "
                "cert_key_id) VALUES ('" +
                order.id + "', '" + order.domainId +
                "', 'renewal', (SELECT id FROM acme_accounts), 'https://ca.test/order/" + order.id +
                "', 'https://ca.test/finalize/" + order.id + "', 'processing', 'await_order', '" +
                kOwner + "', now() + interval '1 minute', 'sealed', 'k')");
    return order;
}

}  // namespace

TEST_CASE("renew before store: a RENEW_BEFORE under a tenth of the lifetime renews at least an "
          "hour before overdue_at") {
    ScratchDatabase scratch("dnsh_renew_before");
    scratch.migrate();
    struct Case {
        std::string description;
        RenewBefore renewBefore;
        std::string notAfter;  // notBefore is 2026-05-01T00:00:00Z
        std::chrono::seconds lifetime;
    };
    // 90 days, and the 160 hours of a shortlived certificate; no daylight saving change within
    // them, whatever the server's time zone, for overdue_at's whole days.
    const std::vector<Case> cases{
        {"fraction 0.05 of 90 days", {std::nullopt, 0.05}, "2026-07-30T00:00:00Z", 90 * 24h},
        {"7 days of 90 days", {168h, 0}, "2026-07-30T00:00:00Z", 90 * 24h},
        {"12 hours of 160 hours", {12h, 0}, "2026-05-07T16:00:00Z", 160h},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const StoredOrder order = renewalOrderHeld(scratch);
        NewCertificate certificate{randomHex(16), "leaf", "chain", "2026-05-01T00:00:00Z",
                                   c.notAfter, 0, std::nullopt};
        // No jitter: the latest renew_at RENEW_BEFORE can give.
        certificate.renewBeforeMs =
            renewBeforeExpiry(c.renewBefore, std::chrono::milliseconds(c.lifetime), 0.0).count();
        scratch.database().withSession([&](Poco::Data::Session& session) {
            OrderStore(session).storeCertificate(order, kOwner, certificate);
            return true;
        });
        // Without the floor: renew_at 7 days (or 4.5 days, or 12 hours) before notAfter, after
        // overdue_at (9 days, or 16 hours, before it), counted overdue before it was even due
        // (the INSERT now holds it at overdue_at, still without the margin). Without the margin:
        // at overdue_at, overdue after one failed attempt. Now 43.2 (or 3.2) hours before it.
        const std::string stored = scratch.text(
            "SELECT (renew_at <= overdue_at - interval '1 hour')::text || ' renew_at ' || "
            "renew_at::text || ' overdue_at ' || overdue_at::text FROM certificates WHERE id = '" +
            certificate.id + "'");
        INFO(stored);
        CHECK(stored.starts_with("true "));
    }
}

TEST_CASE("renew before store: renew_at is no later than overdue_at in a session whose TimeZone "
          "has daylight saving, across its October change") {
    ScratchDatabase scratch("dnsh_renew_before_dst");
    scratch.migrate();
    const StoredOrder order = renewalOrderHeld(scratch);
    // 90 days whose last tenth spans 2026-10-25, when Europe/Berlin goes from CEST back to CET.
    NewCertificate certificate{randomHex(16), "leaf", "chain", "2026-08-01T00:00:00Z",
                               "2026-10-30T00:00:00Z", 0, std::nullopt};
    // A CA's renewalInfo window ending after the last tenth, cut to it by latestRenewal: exactly
    // a tenth of the lifetime, counted in milliseconds (216 hours).
    const std::chrono::system_clock::time_point notAfter{std::chrono::hours(500'000)};
    certificate.renewBeforeMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            notAfter - latestRenewal(notAfter, std::chrono::seconds(90 * 24h)))
            .count();
    scratch.database().withSession([&](Poco::Data::Session& session) {
        executeScript(session, "SET TimeZone = 'Europe/Berlin'");
        OrderStore(session).storeCertificate(order, kOwner, certificate);
        return true;
    });
    const std::string where = " FROM certificates WHERE id = '" + certificate.id + "'";
    // The trigger's overdue_at, notAfter minus '9 days' in this zone: 217 hours before it. (Were
    // it 216, the server would lack the zone's rules and the case would prove nothing.)
    CHECK(scratch.text("SELECT extract(epoch FROM expires_at - overdue_at)::bigint" + where) ==
          "781200");
    // Before the clamp: renew_at 216 hours before notAfter, an hour after overdue_at (counted
    // overdue for that hour, plus however long the renewal takes).
    const std::string stored =
        scratch.text("SELECT (renew_at <= overdue_at)::text || ' renew_at ' || renew_at::text || "
                     "' overdue_at ' || overdue_at::text" + where);
    INFO(stored);
    CHECK(stored.starts_with("true "));
}
