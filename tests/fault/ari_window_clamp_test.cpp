// A CA's renewalInfo window after the certificate's expiry (RFC 9773 §4.2; a CA's bug, a stale
// answer of a cache in front of it) renews the certificate 2% of its lifetime before its last
// tenth begins (overdue_at), not at or after its expiry: at issuance (the scheduler's first
// ask) and on dnsh-admin ari-refresh, each with a warning naming the window. Against the stand-in CA
// tests/support/stalled_ca.py --renewal-info after-expiry (a window two days ahead; its
// certificates last a day): Pebble's window is always within the certificate's dates.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

TEST_CASE("ari: a renewalInfo window after the certificate's expiry renews it 2% of its "
          "lifetime before its last tenth, at issuance and on ari-refresh") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "after-expiry"});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    const TestDomain domain = verifiedDomain("ari-window-late", leftovers);
    const auto scheduler = startIssuance(domain, env);
    requireAllActive({domain}, 90s);
    CHECK(scheduler->terminate() == 0);
    REQUIRE(ca.requests("GET", "/renewal-info/") == 1);
    const std::string certificate = " FROM certificates WHERE superseded_at IS NULL AND "
                                    "domain_id = " + quoted(domain.id);
    // 2% of its lifetime before its last tenth starts (to the second: overdue_at is
    // PostgreSQL's arithmetic): the margin RENEW_BEFORE's floor keeps, so that a first failed
    // attempt is retried before dnsh_renewals_overdue counts the certificate.
    const std::string withMargin = "overdue_at - (expires_at - issued_at) / 50";
    const std::string atLastTenth = "SELECT (renew_at <= " + withMargin + " AND renew_at > " +
                                    withMargin + " - interval '1 second' AND "
                                    "renew_at < expires_at)::text";
    // Before, the picked time two days ahead made renew_before 0: renew_at = expires_at, the
    // renewal started as the certificate expired.
    CHECK_MESSAGE(scalar(atLastTenth + certificate) == "true",
                  scalar("SELECT renew_at::text || ' overdue ' || overdue_at::text || "
                         "' expires ' || expires_at::text" + certificate));
    CHECK(scheduler->log().find("renewalInfo window too late") != std::string::npos);

    // ari-refresh asks again; renew_at as an older version left it (past expiry) is moved back.
    // Before, the window itself was stored: renews at a time two days ahead, a day after expiry.
    execute("UPDATE certificates SET renew_at = expires_at + interval '1 day' WHERE "
            "superseded_at IS NULL AND domain_id = " + quoted(domain.id));
    std::string command = "LOG_LEVEL=warn ";  // the warning on stderr, which runCommand reads
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    const CommandResult refreshed = runCommand(command + "timeout 120 " +
                                               requireEnv("DNSH_ADMIN_BIN") + " ari-refresh " +
                                               domain.id);
    CHECK_MESSAGE(refreshed.exitCode == 0, refreshed.output);
    CHECK(refreshed.output.find("renewalInfo window too late") != std::string::npos);
    // The line on stdout names the time for what it is. Before: "(in the CA's window)".
    CHECK_MESSAGE(refreshed.output.find("(2% of the certificate's lifetime before its last "
                                        "tenth: the CA's window ends after it)") !=
                      std::string::npos,
                  refreshed.output);
    CHECK(refreshed.output.find("in the CA's window") == std::string::npos);
    CHECK(ca.requests("GET", "/renewal-info/") == 2);
    CHECK(scalar(atLastTenth + certificate) == "true");
}
