// RFC 8555 details Pebble cannot be made to show, against the stand-in CA
// tests/support/stalled_ca.py --stall none (a whole order; see its usage): an authorization and
// an order that stay "processing" with a Retry-After (as delay-seconds and as an HTTP-date) are
// waited on as asked, up to POLL_INTERVAL (README "How issuance and renewal work"); finalize
// answered without Location; dns-account-01 and dns-persist-01 offered before dns-01 are passed
// over; userActionRequired names where to act; a CA without profiles refuses every profile; an
// order whose authorization the CA fails after newOrder keeps its budget token spent and gives
// its authorization back; an order the CA never makes ready fails at POLL_TIMEOUT and keeps its
// valid authorization; after the CA rate-limits newOrder, issue-certificate's Retry-After is the
// wait the next call is held to. How long an order the CA is issuing is waited on:
// ca_issuing_test.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/order_budget_check.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// The gaps between consecutive times.
std::vector<double> gaps(const std::vector<double>& times) {
    std::vector<double> between;
    for (std::size_t i = 1; i < times.size(); ++i) between.push_back(times[i] - times[i - 1]);
    return between;
}

std::string listed(const std::vector<double>& values) {
    std::string text;
    for (double value : values) text += (text.empty() ? "" : ", ") + std::to_string(value);
    return text;
}

// The answer to issue-certificate from an API server pointed at `ca` (and `extra`).
HttpResult issueAt(const StalledCa& ca, const TestDomain& domain, const Env& extra = {}) {
    Env env{{"ACME_DIRECTORY", ca.directory()}};
    env.insert(extra.begin(), extra.end());
    ApiServer api("ca-protocol", env);
    return send(api.baseUrl(), issueRequest(domain));
}

// The same, at `ca` with `pollInterval`: the domain active within `timeout`.
void issueThrough(const StalledCa& ca, const TestDomain& domain, const std::string& pollInterval,
                  std::chrono::seconds timeout) {
    const auto scheduler = startIssuance(
        domain, Env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", pollInterval}});
    requireAllActive({domain}, timeout);
    CHECK(scheduler->terminate() == 0);
}

}  // namespace

TEST_CASE("CA protocol: processing is waited on as Retry-After asks, finalize needs no Location, "
          "challenge types other than dns-01 are passed over") {
    Leftovers leftovers;
    // Three "processing" answers each for the authorization and the order, Retry-After: 2.
    StalledCa ca({"--stall", "none", "--retry-after", "2", "--processing-polls", "3"});
    const TestDomain domain = verifiedDomain("ca-protocol", leftovers);
    issueThrough(ca, domain, "5s", 60s);
    INFO(describe(ca.process()));

    // dns-01 answered once; the other types never touched.
    CHECK(ca.requests("POST", "/chall/") == 1);
    CHECK(ca.requests("POST", "/other-chall/") == 0);
    // The authorization polled once soon after the answer, then as Retry-After asked: 2 s as
    // delay-seconds, 1-2 s as an HTTP-date (whole seconds); never the scheduler's 250 ms pace,
    // nor POLL_INTERVAL's 5 s.
    const double answered = ca.requestTimes("POST", "/chall/").at(0);
    const std::vector<double> authorizationPolls =
        since(ca.requestTimes("POST", "/authz/"), answered);
    CAPTURE(listed(authorizationPolls));
    REQUIRE(authorizationPolls.size() == 4);  // three processing, then valid
    for (double gap : gaps(authorizationPolls)) {
        CHECK(gap >= 0.9);
        CHECK(gap < 4.5);  // under POLL_INTERVAL's 5 s with room for a loaded machine
    }
    // Finalized once, answered without Location: the order polled at the URL we had.
    REQUIRE(ca.requests("POST", "/finalize/") == 1);
    const double finalized = ca.requestTimes("POST", "/finalize/").at(0);
    const std::vector<double> orderPolls = since(ca.requestTimes("POST", "/order/"), finalized);
    CAPTURE(listed(orderPolls));
    REQUIRE(orderPolls.size() == 4);  // three processing, then valid
    CHECK(orderPolls.front() - finalized < 1.8);  // in the same turn, not 2 s (Retry-After) on
    for (double gap : gaps(orderPolls)) {
        CHECK(gap >= 0.9);
        CHECK(gap < 4.5);
    }
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id)) == 1);
}

TEST_CASE("CA protocol: a Retry-After longer than POLL_INTERVAL is cut to POLL_INTERVAL") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--retry-after", "3600", "--processing-polls", "2"});
    const TestDomain domain = verifiedDomain("ca-protocol-cut", leftovers);
    issueThrough(ca, domain, "2s", 40s);
    INFO(describe(ca.process()));
    const double answered = ca.requestTimes("POST", "/chall/").at(0);
    const std::vector<double> polls = since(ca.requestTimes("POST", "/authz/"), answered);
    CAPTURE(listed(polls));
    REQUIRE(polls.size() == 3);  // two processing, then valid
    for (double gap : gaps(polls)) {
        CHECK(gap >= 1.9);
        CHECK(gap < 3.5);  // POLL_INTERVAL (2 s), not twice it (a backoff's 4 s)
    }
}

TEST_CASE("CA protocol: userActionRequired fails issue-certificate naming where to act") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--user-action-required"});
    const TestDomain domain = verifiedDomain("ca-protocol-tos", leftovers);
    const HttpResult refused = issueAt(ca, domain);
    INFO(refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_refused");
    // The problem's instance, where the person agrees to the new terms (RFC 8555 §7.3.3).
    const std::string where = ca.directory().substr(0, ca.directory().size() - 4) +
                              "/agreement?token=W8Ih3PswD-8";
    CHECK(refused.jsonString("error") == "ACME CA refused: Terms of service have changed; the CA "
                                         "needs a person to act at " + where);
    CHECK(get("/domains/" + domain.id).jsonString("status") == "verified");
}

TEST_CASE("CA protocol: after the CA rate-limits newOrder, issue-certificate's Retry-After is the "
          "wait the next call is held to, at least 1 s") {
    // newOrder answered 429 rateLimited with Retry-After 10, 0, an HTTP-date in the past, or
    // none. The domain's next call is held off ISSUE_RETRY_BACKOFF or the CA's Retry-After,
    // whichever is longer: here ISSUE_RETRY_BACKOFF, 5 minutes, each time.
    for (const std::string retryAfter : {"10", "0", "past", "none"}) {
        CAPTURE(retryAfter);
        Leftovers leftovers;
        StalledCa ca({"--stall", "none", "--rate-limit-new-order", retryAfter});
        ApiServer api("ca-protocol",
                      {{"ACME_DIRECTORY", ca.directory()}, {"ISSUE_RETRY_BACKOFF", "5m"}});
        const TestDomain domain = verifiedDomain("ca-protocol-rate-limited", leftovers);
        const HttpResult limited = send(api.baseUrl(), issueRequest(domain));
        INFO(limited.body << "\n" << describe(ca.process()));
        REQUIRE(limited.status == 502);
        CHECK(limited.jsonString("error_code") == "ca_rate_limited");
        // Before, the CA's own value: 10, 0 (for "0" and the past date), 30 when it sent none,
        // while the next call was refused for 5 minutes.
        const long long promised = limited.retryAfterSeconds();
        CHECK(promised >= 1);
        CHECK(promised == 300);
        // A client that obeys it is not refused: one that asks sooner is, without reaching the
        // CA, and told to wait no longer than it was promised. Before: "certificate issuance
        // for this domain failed 0 time(s) in a row; retry in 300 s".
        const HttpResult again = send(api.baseUrl(), issueRequest(domain));
        INFO(again.body);
        CHECK(again.status == 429);
        const long long wait = again.retryAfterSeconds();
        CHECK(wait >= 1);
        CHECK(wait <= promised);
        CHECK(again.jsonString("error").find("failed 0 time") == std::string::npos);
        CHECK(again.jsonString("error").find("rate-limiting the account") != std::string::npos);
        CHECK(ca.requests("POST", "/order-plz") == 1);
        CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    }
}

TEST_CASE("CA protocol: an answer larger than 1 MiB is refused, not read whole") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--oversized-directory"});
    const TestDomain domain = verifiedDomain("ca-protocol-oversized", leftovers);
    const HttpResult refused = issueAt(ca, domain);
    INFO(refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error").find("the CA's answer is larger than 1 MiB") !=
          std::string::npos);
    CHECK(get("/domains/" + domain.id).jsonString("status") == "verified");
}

TEST_CASE("CA protocol: a CA without profiles refuses every profile at POST /domains") {
    StalledCa ca({"--stall", "none", "--no-profiles"});
    ApiServer api("ca-protocol", {{"ACME_DIRECTORY", ca.directory()}});
    const std::string name = "no-profiles-" + std::to_string(std::chrono::steady_clock::now()
                                                                  .time_since_epoch()
                                                                  .count()) +
                             ".example";
    const HttpResult refused =
        send(api.baseUrl(), {"POST", "/domains",
                             "{\"domain_name\": \"" + name + "\", \"profile\": \"default\"}",
                             "application/json", {}});
    CHECK(refused.status == 400);
    CHECK(refused.jsonString("error") == "profile \"default\": the CA offers no profiles");
    CHECK(refused.jsonString("error_code") == "invalid_profile");
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);
    // Without a profile the CA is not asked at all.
    const int directoryReads = ca.requests("GET", "/dir");
    const HttpResult created = send(
        api.baseUrl(), {"POST", "/domains", "{\"domain_name\": \"" + name + "\"}",
                        "application/json", {}});
    CHECK(created.status == 201);
    CHECK(ca.requests("GET", "/dir") == directoryReads);
    execute("DELETE FROM domains WHERE domain_name = " + quoted(name));
}

TEST_CASE("CA protocol: an authorization the CA fails after newOrder keeps the order budget token "
          "spent and is deactivated") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--authorization-error", "500"});
    const TestDomain domain = verifiedDomain("ca-protocol-authz", leftovers);
    const HttpResult refused = issueAt(ca, domain, {{"ACME_ORDER_BUDGET", "5/1h"}});
    INFO(refused.body << "\n" << describe(ca.process()));
    CHECK(refused.status == 502);
    REQUIRE(ca.requests("POST", "/order-plz") == 1);
    // Nobody will answer its authorization: given back (RFC 8555 §7.5.2).
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    // The CA created the order and counts it (RFC 8555 §7.4): its token stays spent (before, it
    // was given back: 5 left, as if no order had been placed).
    checkOneOrderTokenSpent(ca.directory());
}

TEST_CASE("CA protocol: an order the CA never makes ready after its authorizations are valid fails "
          "at POLL_TIMEOUT") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--processing-polls", "1", "--order-never-ready"});
    const TestDomain domain = verifiedDomain("ca-protocol-never-ready", leftovers);
    const auto scheduler = startIssuance(domain, Env{{"ACME_DIRECTORY", ca.directory()},
                                                     {"POLL_INTERVAL", "1s"},
                                                     {"POLL_TIMEOUT", "4s"}});
    const std::string orders = "FROM acme_orders WHERE domain_id = " + quoted(domain.id);
    // Before, the order was polled as "pending" until it expired (here: 2099).
    REQUIRE_MESSAGE(waitFor(30s, [&] {
                        return scalar("SELECT status FROM domains WHERE id = " +
                                      quoted(domain.id)) == "failed";
                    }),
                    describe(ca.process()) << "\n" << describe(*scheduler));
    CHECK(scalar("SELECT error_code " + orders) == "timeout");
    CHECK(scalar("SELECT error " + orders).find("did not make the order ready within 4s") !=
          std::string::npos);
    CHECK(ca.requests("POST", "/finalize/") == 0);
    CHECK(scheduler->terminate() == 0);
    // Its authorization is valid (the scheduler ends once the failure is settled): kept for the
    // domain's next order. Before, it was deactivated like a pending one.
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 0);
}

TEST_CASE("CA protocol: each step has its own POLL_TIMEOUT: an order that reaches finalize late in "
          "its authorization wait is issued, not failed after finalize") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--retry-after", "2", "--processing-polls", "3"});
    const TestDomain domain = verifiedDomain("ca-protocol", leftovers);
    const auto scheduler = startIssuance(
        domain, Env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "5s"}});
    // After the last "processing" answer to an authorization poll, the step's clock is set back
    // past POLL_TIMEOUT: as if the wait for the authorization had lasted that long (a CA down
    // for minutes in between). The next poll finds it valid and the order goes on, in the same
    // turn, to finalize and to the wait for the certificate, which has a clock of its own. The
    // order's expiry is cleared so that this wait has POLL_TIMEOUT as its bound (with one, its
    // bound is the expiry or a day, kMaxIssuingWait: ca_issuing_test.cpp).
    const auto processingPolls = [&] {
        const auto answered = ca.requestTimes("POST", "/chall/");
        if (answered.empty()) return std::size_t{0};
        return since(ca.requestTimes("POST", "/authz/"), answered.at(0)).size();
    };
    REQUIRE_MESSAGE(waitFor(30s, [&] { return processingPolls() >= 3; }, 20ms),
                    describe(ca.process()));
    execute("UPDATE acme_orders SET step_started_at = now() - interval '1 day', expires_at = NULL "
            "WHERE domain_id = " + quoted(domain.id));
    REQUIRE_MESSAGE(processingPolls() == 3, "the valid answer came before the clock was set back");
    // Before, the wait for the certificate saw the authorization's age: finalize was sent, the
    // order failed "the CA did not issue within ..." and the certificate was never fetched.
    requireAllActive({domain}, 40s);
    CHECK(ca.requests("POST", "/finalize/") == 1);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(scheduler->terminate() == 0);
}
