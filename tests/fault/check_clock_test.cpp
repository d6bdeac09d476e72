// The times a domain view and a webhook show come from PostgreSQL's clock, not from the clock of
// whichever host wrote them: a check's checked_at and next_check_at (the TXT check, checks.caa,
// checks.persist) and an event payload's "timestamp". The handlers and the scheduler that write
// them run with their wall clock 3 hours ahead under libfaketime (Debian's libfaketime, as
// ari_refresh_clock_test.cpp's dnsh-admin); every time they wrote must be within a minute of
// the database's now(). Before, each was 3 hours ahead: a replica whose clock is off made a
// domain's checked_at go backwards between two checks and its events out of order with its rows.
// A dns-persist-01 record's persistUntil is judged by that clock too.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

const std::string kLibfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// The wall clock 180 minutes ahead, the monotonic clock left real (tsig_badtime_test.cpp says
// why), over `env`.
Env clockAhead(Env env) {
    env["LD_PRELOAD"] = kLibfaketime;
    env["FAKETIME"] = "+180m";
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
    return env;
}

void requireLibfaketime() {
    REQUIRE_MESSAGE(std::filesystem::exists(kLibfaketime),
                    kLibfaketime << " is missing: deploy/install-deps installs it (the Debian "
                                    "package libfaketime)");
}

// Whole seconds between PostgreSQL's now() and the RFC 3339 time `timeSql` (an SQL expression
// of text: a scalar subquery or a literal), either way; -1 when it is NULL.
long long secondsFromDatabaseNow(const std::string& timeSql) {
    return count("SELECT coalesce(abs(extract(epoch FROM now() - (" + timeSql +
                 ")::timestamptz))::bigint, -1)");
}

// The member `member` of the check JSON in the domain's column `column`, as an SQL expression.
std::string storedTime(const TestDomain& domain, const std::string& column,
                       const std::string& member) {
    return "(SELECT " + column + "::json->>" + quoted(member) + " FROM domains WHERE id = " +
           quoted(domain.id) + ")";
}

std::string storedCheck(const TestDomain& domain, const std::string& column) {
    return scalar("SELECT " + column + " FROM domains WHERE id = " + quoted(domain.id));
}

HttpResult runSkewed(const std::string& handler, const std::string& path, const Env& env) {
    CgiRequest request;
    request.method = "POST";
    request.path = path;
    request.env = clockAhead(env);
    return runCgi(handler, request);
}

// The domain's webhook events, deleted however the case ends: no later case's scheduler with
// webhooks on delivers them to its own receiver.
struct EventsDropped {
    const std::string domainId;
    ~EventsDropped() {
        try {
            execute("DELETE FROM webhook_events WHERE domain_id = " + quoted(domainId));
        } catch (...) {
        }
    }
};

}  // namespace

TEST_CASE("clock: verify on a host whose clock is 3 hours ahead stores and answers its checks, "
          "and writes its event, with the database's time") {
    requireLibfaketime();
    Leftovers leftovers;
    const TestDomain domain = registerDomain("clock-verify", leftovers);
    const EventsDropped dropped{domain.id};
    const std::string verifyPath = "/domains/" + domain.id + "/verify";
    // The handler writes the event to the outbox (nothing delivers it here).
    const Env webhooks{{"WEBHOOK_URL", "http://127.0.0.1:9/hooks"}};

    // No record yet: 424, the check stored while the domain stays pending.
    const HttpResult missing = runSkewed("verify_domain", verifyPath, webhooks);
    INFO("first answer: " << missing.status << " " << missing.body);
    REQUIRE(missing.status == 424);
    const std::string missingCheck = storedCheck(domain, "last_check");
    INFO("stored: " << missingCheck);
    const long long missingOff =
        secondsFromDatabaseNow(storedTime(domain, "last_check", "checked_at"));
    CHECK(missingOff >= 0);
    CHECK(missingOff < 60);

    setTxt(domain.challengeName(), domain.token);
    const HttpResult verified = runSkewed("verify_domain", verifyPath, webhooks);
    INFO("second answer: " << verified.status << " " << verified.body);
    REQUIRE(verified.status == 200);
    // The answer shows the check as stored, not the host's time.
    const auto checks = verified.json()->getObject("checks");
    REQUIRE(checks);
    const std::string answered = checks->optValue<std::string>("checked_at", "");
    REQUIRE_FALSE(answered.empty());
    CHECK(answered == scalar(storedTime(domain, "last_check", "checked_at")));
    const long long answeredOff = secondsFromDatabaseNow(quoted(answered));
    CHECK(answeredOff >= 0);
    CHECK(answeredOff < 60);

    // domain.verified's "timestamp": when it happened, as the domain's updated_at has it (one
    // transaction: the same now(), to the millisecond).
    const std::string event = " FROM webhook_events e JOIN domains d ON d.id = e.domain_id "
                              "WHERE e.type = 'domain.verified' AND e.domain_id = " +
                              quoted(domain.id);
    const std::string payload = scalar("SELECT e.payload" + event);
    INFO("payload: " << payload);
    REQUIRE(count("SELECT count(*)" + event) == 1);
    const long long eventOff =
        secondsFromDatabaseNow("(SELECT e.payload::json->>'timestamp'" + event + ")");
    CHECK(eventOff >= 0);
    CHECK(eventOff < 60);
    CHECK(scalar("SELECT (e.payload::json->>'timestamp' = to_char(d.updated_at AT TIME ZONE "
                 "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text" +
                 event) == "true");
}

TEST_CASE("clock: issue-certificate and the scheduler on hosts whose clocks are 3 hours ahead "
          "store checked_at and next_check_at by the database's clock") {
    requireLibfaketime();
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("clock-issue", leftovers);

    // The handler's CAA check and dns-persist-01 record check (the stack's Pebble offers the
    // method in every authorization), written with the order.
    const HttpResult started =
        runSkewed("issue_certificate", "/domains/" + domain.id + "/issue-certificate", {});
    INFO("issue-certificate: " << started.status << " " << started.body);
    REQUIRE(started.status == 202);
    const std::string value = started.jsonString("expected_txt_value");
    REQUIRE(std::regex_match(value, kTxtValue));
    for (const std::string column : {"caa_check", "persist_check"}) {
        const std::string stored = storedCheck(domain, column);
        INFO(column << ": " << stored);
        const long long off = secondsFromDatabaseNow(storedTime(domain, column, "checked_at"));
        CHECK(off >= 0);
        CHECK(off < 60);
    }

    // The value is not published (the name still holds the token): the scheduler's lookup is a
    // txt_mismatch, looked at again POLL_INTERVAL later.
    const auto scheduler = startScheduler(clockAhead({{"POLL_INTERVAL", "2s"}}));
    const bool checked = waitFor(30s, [&] {
        return count("SELECT count(*) FROM domains WHERE id = " + quoted(domain.id) +
                     " AND strpos(last_check, " + quoted(value) + ") > 0") == 1;
    });
    CHECK(scheduler->terminate() == 0);
    const std::string lastCheck = storedCheck(domain, "last_check");
    INFO("stored: " << lastCheck);
    REQUIRE_MESSAGE(checked, "no check of the order's value within 30 s: " << describe(*scheduler));
    const long long checkedOff =
        secondsFromDatabaseNow(storedTime(domain, "last_check", "checked_at"));
    CHECK(checkedOff >= 0);
    CHECK(checkedOff < 60);
    const long long nextOff =
        secondsFromDatabaseNow(storedTime(domain, "last_check", "next_check_at"));
    CHECK(nextOff >= 0);
    CHECK(nextOff < 60);
    // now() + POLL_INTERVAL, both cut to the second.
    CHECK(count("SELECT extract(epoch FROM (" +
                storedTime(domain, "last_check", "next_check_at") + ")::timestamptz - (" +
                storedTime(domain, "last_check", "checked_at") + ")::timestamptz)::bigint") == 2);
}

TEST_CASE("clock: issue-certificate on a host whose clock is 3 hours ahead judges a "
          "dns-persist-01 record's persistUntil by the database's clock") {
    requireLibfaketime();
    Leftovers leftovers;
    SandboxRecords records;
    // Our account URL at the stack's Pebble, as a scheduler confirms it when it starts (or
    // registers it again, where an earlier case restarted Pebble): the record must name it.
    std::string accountUrl;
    {
        const auto scheduler = startScheduler();
        const auto confirmed = [&] {
            const std::string log = scheduler->log();
            return log.find("acme account registered") != std::string::npos ||
                   log.find("acme account confirmed") != std::string::npos;
        };
        REQUIRE_MESSAGE(waitFor(15s, confirmed), describe(*scheduler));
        accountUrl = scalar("SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE "
                            "persist_issuer IS NOT NULL AND directory_url = " +
                            quoted(requireEnv("ACME_DIRECTORY")));
        CHECK(scheduler->terminate() == 0);
    }
    REQUIRE_FALSE(accountUrl.empty());
    const TestDomain domain = verifiedDomain("clock-persist", leftovers);
    // Valid for another hour by the database's clock, passed 2 hours ago by the handler's.
    const long long persistUntil = count("SELECT extract(epoch FROM now())::bigint + 3600");
    records.txt("_validation-persist." + domain.name,
                "pebble.letsencrypt.org; accounturi=" + accountUrl +
                    "; persistUntil=" + std::to_string(persistUntil));

    const HttpResult started =
        runSkewed("issue_certificate", "/domains/" + domain.id + "/issue-certificate", {});
    INFO("issue-certificate: " << started.status << " " << started.body);
    const std::string stored = storedCheck(domain, "persist_check");
    INFO("persist_check: " << stored);
    REQUIRE(started.status == 202);
    // Before: "expired" by the host's clock, and a dns-01 value asked of a customer who
    // publishes nothing per order.
    CHECK(scalar("SELECT persist_check::json->>'outcome' FROM domains WHERE id = " +
                 quoted(domain.id)) == "usable");
    CHECK(started.jsonString("validation_method") == "dns-persist-01");
    CHECK(started.json()->getArray("challenges")->size() == 0);
    CHECK_FALSE(started.json()->has("expected_txt_value"));
    // The check shows the record's persistUntil, after the checked_at it was judged at.
    CHECK(scalar("SELECT (" + storedTime(domain, "persist_check", "persist_until") +
                 "::timestamptz = to_timestamp(" + std::to_string(persistUntil) + "))::text") ==
          "true");
    CHECK(scalar("SELECT (" + storedTime(domain, "persist_check", "checked_at") +
                 "::timestamptz < " + storedTime(domain, "persist_check", "persist_until") +
                 "::timestamptz)::text") == "true");
}
