// A certificate whose renewalInfo (RFC 9773) a scheduler cannot ask about. The CA's directory
// offers no renewalInfo: the scheduler puts its next fetch off by ARI_MAX_WAIT (README "ACME
// Renewal Information", Nothing to ask); before, it was left the claim's 10-minute hold and
// claimed again every 10 minutes, for ever. Its CA is not in this scheduler's ACME_CAS: it is
// left due for a scheduler that has the CA; before, it was put off by ARI_MAX_WAIT, a day nobody
// asked while another replica had the CA. On a scratch database, the certificate's rows written
// by the case; the scheduler's first renewalInfo scan comes at its start.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAriMaxWait = "3h";
constexpr long long kAriMaxWaitSeconds = 3 * 3600;
constexpr long long kClaimHoldSeconds = 600;  // worker.cpp's kAriHoldMs

// An active domain with a certificate ordered through an account at `directoryUrl`, its
// renewal 10 days away and its renewalInfo due now; returns the certificate's id.
std::string certificateDueForAri(ScratchDatabase& scratch, const std::string& directoryUrl) {
    const std::string domainId = dnsh::randomHex(16);
    const std::string orderId = dnsh::randomHex(16);
    const std::string certificateId = dnsh::randomHex(16);
    scratch.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) VALUES (" +
                quoted(directoryUrl) + ", 'sealed', 'k') ON CONFLICT DO NOTHING");
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES (" +
                quoted(domainId) + ", " + quoted(uniqueDomainName("ari-nothing")) + ", " +
                quoted(std::string(64, 'a')) + ", 'active', now())");
    scratch.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                "finalize_url, status, step) VALUES (" +
                quoted(orderId) + ", " + quoted(domainId) +
                ", 'issue', (SELECT id FROM acme_accounts WHERE directory_url = " +
                quoted(directoryUrl) + "), 'https://ca.test/order/" + orderId +
                "', 'https://ca.test/finalize/" + orderId + "', 'valid', 'done')");
    scratch.run("INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
                "private_key_ciphertext, key_id, issued_at, expires_at, renew_at, "
                "ari_next_fetch_at) VALUES (" +
                quoted(certificateId) + ", " + quoted(domainId) + ", " + quoted(orderId) +
                ", 'pem', 'chain', 'sealed', 'k', now() - interval '60 days', "
                "now() + interval '30 days', now() + interval '10 days', now())");
    return certificateId;
}

// Whole seconds from now to the certificate's next renewalInfo fetch (-1000000: none set).
long long secondsToNextFetch(ScratchDatabase& scratch, const std::string& certificateId) {
    return std::stoll(
        scratch.text("SELECT coalesce(floor(extract(epoch FROM ari_next_fetch_at - now())), "
                     "-1000000)::bigint::text FROM certificates WHERE id = " +
                     quoted(certificateId)));
}

// The scheduler's renewalInfo scan has taken the certificate and put it off by ARI_MAX_WAIT,
// its renew_at as it was.
void requirePutOffByAriMaxWait(ScratchDatabase& scratch, const std::string& certificateId,
                               const SchedulerProcess& scheduler) {
    long long seconds = 0;
    const bool putOff = waitFor(20s, [&] {
        seconds = secondsToNextFetch(scratch, certificateId);
        return seconds > kClaimHoldSeconds;
    });
    // Before: the claim's hold alone, about 600 s.
    CHECK_MESSAGE(putOff, "next fetch in " << seconds << " s; " << describe(scheduler));
    // Stored as ARI_MAX_WAIT from the scan, which ran in the last 20 s (the claim's hold, 600 s,
    // is far outside this).
    const std::string storedAsMaxWait =
        "SELECT (ari_next_fetch_at BETWEEN now() + interval '" +
        std::to_string(kAriMaxWaitSeconds - 60) + " seconds' AND now() + interval '" +
        std::to_string(kAriMaxWaitSeconds) + " seconds')::text FROM certificates WHERE id = " +
        quoted(certificateId);
    CHECK(scratch.text(storedAsMaxWait) == "true");
    CHECK(scratch.text("SELECT (renew_at > now() + interval '9 days')::text FROM certificates "
                       "WHERE id = " +
                       quoted(certificateId)) == "true");
}

}  // namespace

TEST_CASE("fault: renewalInfo of a certificate whose CA this scheduler does not have is left "
          "due for a scheduler that has it") {
    ScratchDatabase scratch("ari_ca_elsewhere");
    scratch.migrate();
    // Two stand-in CAs without renewalInfo: what a scheduler that has the CA does is put the
    // certificate off by ARI_MAX_WAIT, which shows its scan has run.
    StalledCa here({"--stall", "none"});
    StalledCa elsewhere({"--stall", "none"});
    const std::string ours = certificateDueForAri(scratch, here.directory());
    const std::string theirs = certificateDueForAri(scratch, elsewhere.directory());
    {
        const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()},
                                               {"ACME_DIRECTORY", here.directory()},
                                               {"ARI_MAX_WAIT", kAriMaxWait}});
        requirePutOffByAriMaxWait(scratch, ours, *scheduler);
        // Not claimed: still due, as it was. Before, the claim that took `ours` took it too
        // (its hold, 600 s, at once) and it was put off by ARI_MAX_WAIT unasked.
        CHECK(secondsToNextFetch(scratch, theirs) <= 0);
        CHECK(elsewhere.requests("GET", "/dir") == 0);
        CHECK(scheduler->terminate() == 0);
    }
    // A scheduler that has its CA asks it.
    const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()},
                                           {"ACME_DIRECTORY", elsewhere.directory()},
                                           {"ARI_MAX_WAIT", kAriMaxWait}});
    requirePutOffByAriMaxWait(scratch, theirs, *scheduler);
    CHECK(elsewhere.requests("GET", "/dir") >= 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("fault: renewalInfo of a certificate whose CA offers none waits ARI_MAX_WAIT") {
    ScratchDatabase scratch("ari_not_offered");
    scratch.migrate();
    // The stand-in CA without --renewal-info: its directory has no renewalInfo.
    StalledCa ca({"--stall", "none"});
    const std::string certificateId = certificateDueForAri(scratch, ca.directory());
    const auto scheduler =
        startScheduler({{"DATABASE_URL", scratch.url()},
                        {"ACME_DIRECTORY", ca.directory()},
                        {"ARI_MAX_WAIT", kAriMaxWait}});
    requirePutOffByAriMaxWait(scratch, certificateId, *scheduler);
    CHECK(ca.requests("GET", "/dir") >= 1);  // it was asked for its directory
    CHECK(scheduler->terminate() == 0);
}
