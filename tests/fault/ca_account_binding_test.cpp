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

#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
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

// Our External Account Binding key at the stand-in (--bind-once checks no MAC).
std::map<std::string, std::string> boundAt(const StalledCa& ca) {
    return {{"ACME_DIRECTORY", ca.directory()},
            {"ACME_EAB_KID", "stand-in-kid"},
            {"ACME_EAB_HMAC_KEY", requireEnv("DNSH_TEST_EAB_HMAC_KEY")}};
}

struct TwoIssues {
    HttpResult first;
    HttpResult second;
    std::string handlersLog;
};

// issue-certificate for two new verified domains, one after the other, by the one
// issue-certificate process of an API server (ApiServer's DNSH_ISSUE_HANDLER_PROCS=1) whose
// first request registers our account at `ca`.
TwoIssues issueTwiceInOneProcess(const StalledCa& ca, const std::string& name) {
    Leftovers leftovers;
    const ApiServer api(name, boundAt(ca));
    const TestDomain first = verifiedDomain(name + "-1-", leftovers);
    const TestDomain second = verifiedDomain(name + "-2-", leftovers);
    TwoIssues issues;
    issues.first = send(api.baseUrl(), issueRequest(first));
    issues.second = send(api.baseUrl(), issueRequest(second));
    issues.handlersLog = readFile(api.handlersLog().string());
    return issues;
}

}  // namespace

TEST_CASE("CA account binding: a binding the CA refused once leaves the process's account "
          "usable: its next issue-certificate binds it and orders") {
    StalledCa ca({"--stall", "none", "--bind-once", "--first-binding", "refused"});
    forgetStandInAccount(ca);
    const TwoIssues issues = issueTwiceInOneProcess(ca, "ca-binding-refused");
    INFO("first: " << issues.first.body << "\nsecond: " << issues.second.body << "\n"
                   << describe(ca.process()) << "\nhandlers: " << issues.handlersLog);
    // Refused (403 unauthorized), and not bound: the lookup finds no account.
    CHECK(issues.first.status == 502);
    CHECK(issues.first.jsonString("error_code") == "ca_account");
    // Before: the process kept the key without the account (useAccount never ran), so every
    // later request was signed with a kid and no key: 500 "internal error", the log saying
    // "ES256 signing failed", for the process's life; no second binding, no newOrder.
    CHECK(issues.second.status == 202);
    CHECK(issues.handlersLog.find("ES256 signing failed") == std::string::npos);
    CHECK(ca.requests("REFUSED", "/account") == 1);
    CHECK(ca.requests("BOUND", "/account") == 1);
    CHECK(ca.requests("POST", "/order-plz") == 1);
}

TEST_CASE("CA account binding: a binding refused because another process bound the key, or "
          "whose answer was lost, finds the account without binding it again") {
    for (const char* failure : {"taken", "lost"}) {
        CAPTURE(failure);
        StalledCa ca({"--stall", "none", "--bind-once", "--first-binding", failure});
        forgetStandInAccount(ca);
        const TwoIssues issues = issueTwiceInOneProcess(ca, std::string("ca-binding-") + failure);
        INFO("first: " << issues.first.body << "\nsecond: " << issues.second.body << "\n"
                       << describe(ca.process()) << "\nhandlers: " << issues.handlersLog);
        // Before: the first answered 502 (ca_account for "taken", the stand-in's "The account
        // is not awaiting external account binding"; ca_unreachable for "lost") and the second
        // 500 "internal error" (ES256 signing failed); with the key dropped but no lookup, the
        // second sent the binding again: REBOUND, 502 ca_account, no newOrder ever.
        CHECK(issues.first.status == 202);
        CHECK(issues.second.status == 202);
        CHECK(ca.requests(failure == std::string("taken") ? "TAKEN" : "LOST", "/account") == 1);
        CHECK(ca.requests("BOUND", "/account") == 0);
        CHECK(ca.requests("REBOUND", "/account") == 0);
        CHECK(ca.requests("POST", "/order-plz") == 2);
        CHECK(scalar("SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE "
                     "directory_url = " + quoted(ca.directory())) ==
              "https://127.0.0.1:" + std::to_string(ca.port()) + "/account/1");
    }
}

TEST_CASE("CA account binding: a scheduler start binds our account at an EAB CA once and "
          "confirms it at the next start without binding it again") {
    StalledCa ca({"--stall", "none", "--bind-once"});
    const std::map<std::string, std::string> env = boundAt(ca);
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
        // Bound once. No REBOUND check here: a worker that claims an order while the start
        // registers may send the binding too (REBOUND), then find the account
        // (boundMeanwhile), as the design allows when processes race.
        CHECK(ca.requests("BOUND", "/account") == 1);
    }

    // A restart with the account URL stored: confirmed, not bound again. Nothing registers
    // here, so no race: counted from this start on.
    execute("UPDATE acme_accounts SET persist_issuer = NULL WHERE directory_url = " +
            quoted(ca.directory()));
    const int postsBefore = ca.requests("POST", "/account");
    const int reboundBefore = ca.requests("REBOUND", "/account");
    const auto scheduler = startScheduler(env);
    // Before: every start sent the binding again: REBOUND, the warning, no persist_issuer.
    REQUIRE_MESSAGE(waitFor(15s, issuerRecorded),
                    describe(*scheduler) << "\n" << describe(ca.process()));
    const std::string log = scheduler->log();
    CHECK(log.find("acme account confirmed") != std::string::npos);
    CHECK(log.find("acme account not ready") == std::string::npos);
    CHECK(ca.requests("POST", "/account") - postsBefore == 1);  // the confirmation alone
    CHECK(ca.requests("BOUND", "/account") == 1);
    CHECK(ca.requests("REBOUND", "/account") - reboundBefore == 0);
}

TEST_CASE("CA account binding: a CA that refuses onlyReturnExisting (not accountDoesNotExist) "
          "keeps the stored account, and the persist issuer is recorded") {
    StalledCa ca({"--stall", "none", "--bind-once", "--refuse-only-existing"});
    forgetStandInAccount(ca);
    const std::map<std::string, std::string> env = boundAt(ca);
    const std::string issuer = "SELECT coalesce(max(persist_issuer), '') FROM acme_accounts "
                               "WHERE directory_url = " + quoted(ca.directory());
    const auto issuerRecorded = [&] { return scalar(issuer) == "stand-in.test"; };
    {
        // The first start registers the key, bound (201): nothing to confirm.
        const auto scheduler = startScheduler(env);
        REQUIRE_MESSAGE(waitFor(15s, issuerRecorded),
                        describe(*scheduler) << "\n" << describe(ca.process()));
    }
    // Counted from the restart on: a worker racing the first start's binding may have sent
    // REBOUND and an onlyReturnExisting (UNCONFIRMED) of its own, as the design allows.
    execute("UPDATE acme_accounts SET persist_issuer = NULL WHERE directory_url = " +
            quoted(ca.directory()));
    const int unconfirmedBefore = ca.requests("UNCONFIRMED", "/account");
    const int reboundBefore = ca.requests("REBOUND", "/account");
    const auto scheduler = startScheduler(env);
    // Before: confirmAccount rethrew the 400 externalAccountRequired: "acme account not ready"
    // on a doubling interval, persist_issuer never written.
    REQUIRE_MESSAGE(waitFor(15s, issuerRecorded),
                    describe(*scheduler) << "\n" << describe(ca.process()));
    const std::string log = scheduler->log();
    CHECK(log.find("acme account not confirmed; the stored URL is kept") != std::string::npos);
    CHECK(log.find("acme account not ready") == std::string::npos);
    CHECK(ca.requests("UNCONFIRMED", "/account") - unconfirmedBefore == 1);
    CHECK(ca.requests("BOUND", "/account") == 1);
    CHECK(ca.requests("REBOUND", "/account") - reboundBefore == 0);
    CHECK(scalar("SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE "
                 "directory_url = " + quoted(ca.directory())) ==
          "https://127.0.0.1:" + std::to_string(ca.port()) + "/account/1");
}
