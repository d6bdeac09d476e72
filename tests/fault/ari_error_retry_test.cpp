// A renewalInfo request the CA fails (RFC 9773 §4.3.3) is asked again as the kind of error asks:
// a 503 with Retry-After: 60 (a CA overloaded during a mass revocation) a minute later, a 503
// without one five minutes later, and only a usable answer's Retry-After waits hours. Before,
// every error waited the 6 hours of a long-term error (at most ARI_MAX_WAIT): a quarter of a
// 24-hour revocation deadline. Against the stand-in CA tests/support/stalled_ca.py
// --renewal-info (Pebble's renewalInfo cannot be made to fail), with the test stack's
// ARI_MAX_WAIT left at its 24 hours; the scheduler issues, then dnsh-admin ari-refresh asks.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "acme/ari.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// issue-certificate through an API server pointed at the CA, the value published, and a
// scheduler taking the order on until the domain is active; stopped then, so that nothing but
// the case asks the CA's renewalInfo afterwards.
void issueAndStop(const TestDomain& domain, const Env& env) {
    {
        ApiServer api("ari-error", env);
        HttpRequest issue;
        issue.method = "POST";
        issue.path = "/domains/" + domain.id + "/issue-certificate";
        const HttpResult started = send(api.baseUrl(), issue);
        REQUIRE_MESSAGE(started.status == 202, started.body);
        publish(domain, started.jsonString("expected_txt_value"));
    }
    const auto scheduler = startScheduler(env);
    requireAllActive({domain}, 60s);
    CHECK(scheduler->terminate() == 0);
}

// Whole seconds from now to the certificate's next renewalInfo fetch (-1000000: none set).
long long secondsToNextFetch(const std::string& certificateId) {
    return count("SELECT coalesce(floor(extract(epoch FROM ari_next_fetch_at - now())), "
                 "-1000000)::bigint FROM certificates WHERE id = " +
                 quoted(certificateId));
}

CommandResult ariRefresh(const TestDomain& domain, const Env& env) {
    std::string command;
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    return runCommand(command + requireEnv("DNSH_ADMIN_BIN") + " ari-refresh " + domain.id);
}

}  // namespace

TEST_CASE("ari: a renewalInfo answered 503 is asked again as its Retry-After says, or in five "
          "minutes, not after the six hours of a long-term error (RFC 9773 §4.3.3)") {
    Leftovers leftovers;
    // The first two renewalInfo requests get 503 with Retry-After: 60, the third 503 without
    // one, then a window an hour ahead with Retry-After: 21600.
    StalledCa ca({"--stall", "none", "--renewal-info", "503:60,503:60,503,window"});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    const TestDomain domain = verifiedDomain("ari-error", leftovers);
    issueAndStop(domain, env);
    const std::string certificate = scalar(
        "SELECT id FROM certificates WHERE superseded_at IS NULL AND domain_id = " +
        quoted(domain.id));
    // The stand-in answers each certificate's requests in turn; this one's are counted.
    const std::string renewalInfo =
        "/renewal-info/" +
        dnsh::acme::ariCertId(scalar("SELECT certificate_pem FROM certificates WHERE id = " +
                                     quoted(certificate)));

    // Asked once as the certificate was stored: the 503's minute, not 6 hours.
    REQUIRE(ca.requests("GET", renewalInfo) == 1);
    CHECK(secondsToNextFetch(certificate) <= 120);

    // dnsh-admin ari-refresh during the outage: not usable (exit 69), asked again in a minute.
    const CommandResult overloaded = ariRefresh(domain, env);
    CHECK_MESSAGE(overloaded.exitCode == 69, overloaded.output);
    CHECK(overloaded.output.find("not usable") != std::string::npos);
    REQUIRE(ca.requests("GET", renewalInfo) == 2);
    const long long afterRetryAfter = secondsToNextFetch(certificate);
    CHECK(afterRetryAfter >= 30);
    CHECK(afterRetryAfter <= 120);

    // A 503 without Retry-After: the short backoff, five minutes.
    const CommandResult silent = ariRefresh(domain, env);
    CHECK_MESSAGE(silent.exitCode == 69, silent.output);
    REQUIRE(ca.requests("GET", renewalInfo) == 3);
    const long long afterBackoff = secondsToNextFetch(certificate);
    CHECK(afterBackoff >= 240);
    CHECK(afterBackoff <= 300);

    // The CA is back: its window is used and its Retry-After (6 hours) kept, as before.
    const CommandResult usable = ariRefresh(domain, env);
    CHECK_MESSAGE(usable.exitCode == 0, usable.output);
    CHECK(usable.output.find("renews at") != std::string::npos);
    REQUIRE(ca.requests("GET", renewalInfo) == 4);
    const long long afterWindow = secondsToNextFetch(certificate);
    CHECK(afterWindow >= 6 * 3600 - 120);
    CHECK(afterWindow <= 6 * 3600);
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at BETWEEN now() + interval "
                "'55 minutes' AND now() + interval '2 hours' AND id = " +
                quoted(certificate)) == 1);
}
