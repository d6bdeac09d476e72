// A CA that stops answering (issue 23; Pebble froze this way under load: directory and newNonce
// answered, everything else hung) holds an API handler no longer than ACME_HANDLER_TIMEOUT and a
// scheduler worker no longer than ACME_SCHEDULER_TIMEOUT per request, and a request whose answer
// was lost is not sent again. The CA is tests/support/stalled_ca.py on a free loopback port,
// with the test Pebble's TLS certificate, so the service trusts it through ACME_CA_BUNDLE.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

HttpRequest issueRequest(const TestDomain& domain) {
    return {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}};
}

// A request that never throws: a transport failure becomes status 0 with the reason as body.
HttpResult sendSafely(const std::string& base, const HttpRequest& request) {
    try {
        return send(base, request);
    } catch (const std::exception& e) {
        HttpResult failed;
        failed.body = std::string("transport error: ") + e.what();
        return failed;
    }
}

struct TimedResult {
    HttpResult result;
    double seconds = 0;
};

TimedResult timedSend(const std::string& base, const HttpRequest& request) {
    const auto started = Clock::now();
    TimedResult timed{sendSafely(base, request), 0};
    timed.seconds = secondsSince(started);
    return timed;
}

// What a client is told when the CA did not answer within the handler's budget.
void checkCaUnreachableAnswer(const TimedResult& answer, double budgetSeconds) {
    INFO(answer.result.status << " after " << answer.seconds << " s: " << answer.result.body);
    CHECK(answer.result.status == 502);
    CHECK(isJsonAnswer(answer.result));
    if (isJsonAnswer(answer.result)) CHECK(answer.result.jsonString("error_code") == "ca_unreachable");
    const std::string retryAfter = answer.result.header("retry-after");
    CHECK_MESSAGE(std::regex_match(retryAfter, std::regex("[1-9][0-9]*")),
                  "Retry-After: '" << retryAfter << "'");
    // The budget, plus the handler's own work and lighttpd: far from the 30-60 s of before.
    CHECK(answer.seconds < budgetSeconds + 3);
}

}  // namespace

TEST_CASE("CA budget: a CA that never answers newOrder holds issue-certificate for "
          "ACME_HANDLER_TIMEOUT, not the other endpoints, and the order is sent once") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "new-order"});
    ApiServer api("ca-budget", {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "2s"},
                              {"DNSH_ISSUE_HANDLER_PROCS", "4"}});
    std::vector<TestDomain> domains;
    for (int i = 0; i < 3; ++i) domains.push_back(verifiedDomain("ca-budget", leftovers));

    // The view's handler connected to PostgreSQL first, so its time below is the answer's own.
    REQUIRE(timedSend(api.baseUrl(), {"GET", "/domains/" + domains[0].id, "", "", {}})
                .result.status == 200);
    std::vector<std::future<TimedResult>> issues;
    for (const auto& domain : domains)
        issues.push_back(std::async(std::launch::async, timedSend, api.baseUrl(), issueRequest(domain)));
    // While they wait for the CA, the API's other endpoints answer as always.
    std::this_thread::sleep_for(300ms);
    for (int i = 0; i < 3; ++i) {
        const TimedResult health = timedSend(api.baseUrl(), {"GET", "/healthz", "", "", {}});
        const TimedResult view =
            timedSend(api.baseUrl(), {"GET", "/domains/" + domains[0].id, "", "", {}});
        CHECK(health.result.status == 200);
        CHECK(view.result.status == 200);
        CHECK(view.seconds < 1.5);
    }
    for (auto& issue : issues) checkCaUnreachableAnswer(issue.get(), 2);

    // newOrder is a signed POST whose answer was lost: never sent twice (RFC 8555 §6.5 nonces
    // make a replay fail at best, a second order at worst).
    CHECK_MESSAGE(ca.requests("POST", "/order-plz") == 3,
                  "CA: " << describe(ca.process()) << "\nhandlers: " << readFile(api.handlersLog().string()));
    for (const auto& domain : domains) {
        CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
        CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    }
}

TEST_CASE("CA budget: a CA that answers after 30 s, trickles its headers, or never completes "
          "the TLS handshake") {
    // The trickle sends a byte every 0.4 s for a minute: no single read waits long enough for
    // a timeout per read to fire, only a deadline for the whole answer ends it.
    const std::vector<std::vector<std::string>> behaviours = {
        {"--stall", "new-order", "--delay", "30"},
        {"--stall", "new-order", "--trickle", "0.4"},
        {"--stall", "handshake"}};
    for (const auto& behaviour : behaviours) {
        CAPTURE(behaviour.back());
        Leftovers leftovers;
        StalledCa ca(behaviour);
        ApiServer api("ca-budget", {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "2s"},
                              {"DNSH_ISSUE_HANDLER_PROCS", "4"}});
        const TestDomain domain = verifiedDomain("ca-budget", leftovers);
        checkCaUnreachableAnswer(timedSend(api.baseUrl(), issueRequest(domain)), 2);
        CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    }
}

TEST_CASE("CA budget: a stuck CA request holds one order for ACME_SCHEDULER_TIMEOUT, and the one "
          "worker goes on to the next order") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "challenge"});
    ApiServer api("ca-budget", {{"ACME_DIRECTORY", ca.directory()}});
    std::vector<TestDomain> domains;
    for (int i = 0; i < 4; ++i) {
        const TestDomain domain = verifiedDomain("ca-budget-step", leftovers);
        const HttpResult started = send(api.baseUrl(), issueRequest(domain));
        REQUIRE_MESSAGE(started.status == 202, started.body);
        publish(domain, started.jsonString("expected_txt_value"));
        domains.push_back(domain);
    }
    const std::string ours = "domain_id IN (" + idList(domains) + ")";
    {
        // One worker: without a budget per request, the first order's challenge would hold it.
        SchedulerProcess scheduler({{"ACME_DIRECTORY", ca.directory()},
                                    {"ACME_SCHEDULER_TIMEOUT", "1s"},
                                    {"SCHEDULER_WORKERS", "1"},
                                    {"POLL_INTERVAL", "200ms"}});
        const bool everyOrderTried = waitFor(20s, [&] {
            return count("SELECT count(*) FROM acme_orders WHERE attempts > 0 AND " + ours) == 4;
        });
        CHECK_MESSAGE(everyOrderTried,
                      scalar("SELECT string_agg(attempts::text, ',') FROM acme_orders WHERE " + ours)
                          << "\n" << describe(scheduler));
        scheduler.terminate();
    }
    // Each attempt sent its challenge answer once; the one stopped mid-request may not have
    // counted its attempt.
    const long long attempts =
        count("SELECT coalesce(sum(attempts), 0) FROM acme_orders WHERE " + ours);
    const int answers = ca.requests("POST", "/chall/");
    CHECK(answers >= attempts);
    CHECK(answers <= attempts + 1);
    for (const auto& domain : domains)
        CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
              "certificate_pending");
}
