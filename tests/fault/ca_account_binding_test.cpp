// A CA that binds an account key once (External Account Binding, RFC 8555 §7.3.4), as
// Sectigo/ZeroSSL do, against the stand-in CA tests/support/stalled_ca.py --bind-once: a
// second newAccount with a binding for a key it knows is answered 400 malformed "The account is
// not awaiting external account binding". Pebble answers a known key 200 before it looks at the
// binding, so the Pebble tests cannot show it. At each start the scheduler confirms our account
// with onlyReturnExisting and no binding (RFC 8555 §7.3.1; issuance/acme_account.hpp
// confirmAccount) and records the CA's dns-persist-01 issuer.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The stand-in listens on a free port, and earlier cases' acme_accounts rows are kept: one left
// at this port would hold an account URL (or a persist issuer) this stand-in never gave. The key
// stays; this stand-in does not know it, so it is bound afresh.
void forgetStandInAccount(const StalledCa& ca) {
    execute("UPDATE acme_accounts SET account_url = NULL, persist_issuer = NULL "
            "WHERE directory_url = " + quoted(ca.directory()));
}

}  // namespace

TEST_CASE("CA account binding: a scheduler start binds our account at an EAB CA once and "
          "confirms it at the next start without binding it again") {
    StalledCa ca({"--stall", "none", "--bind-once"});
    const std::map<std::string, std::string> env{
        {"ACME_DIRECTORY", ca.directory()},
        {"ACME_EAB_KID", "stand-in-kid"},
        {"ACME_EAB_HMAC_KEY", requireEnv("DNSH_TEST_EAB_HMAC_KEY")}};
    forgetStandInAccount(ca);
    const std::string issuer = "SELECT coalesce(max(persist_issuer), '') FROM acme_accounts "
                               "WHERE directory_url = " + quoted(ca.directory());
    const auto issuerRecorded = [&] { return scalar(issuer) == "stand-in.test"; };
    {
        // The first start registers the key, bound (201).
        const auto scheduler = startScheduler(env);
        // Before: it then sent newAccount with the binding again, refused 400; the log said
        // "acme account not ready ... refused our account (External Account Binding key id
        // stand-in-kid): [External Account Binding] The account is not awaiting external
        // account binding", retried on a doubling interval, and persist_issuer was never set.
        REQUIRE_MESSAGE(waitFor(15s, issuerRecorded),
                        describe(*scheduler) << "\n" << describe(ca.process()));
        CHECK(scheduler->log().find("acme account not ready") == std::string::npos);
        CHECK(ca.requests("BOUND", "/account") == 1);
        CHECK(ca.requests("REBOUND", "/account") == 0);
    }

    // A restart with the account URL stored: confirmed, not bound again.
    execute("UPDATE acme_accounts SET persist_issuer = NULL WHERE directory_url = " +
            quoted(ca.directory()));
    const auto scheduler = startScheduler(env);
    // Before: every start sent the binding again: REBOUND, the warning, no persist_issuer.
    REQUIRE_MESSAGE(waitFor(15s, issuerRecorded),
                    describe(*scheduler) << "\n" << describe(ca.process()));
    const std::string log = scheduler->log();
    CHECK(log.find("acme account confirmed") != std::string::npos);
    CHECK(log.find("acme account not ready") == std::string::npos);
    CHECK(ca.requests("POST", "/account") == 2);
    CHECK(ca.requests("BOUND", "/account") == 1);
    CHECK(ca.requests("REBOUND", "/account") == 0);
}
