// One budget for all of an issue-certificate call's requests to the CAs (README "The 60-second
// CA stalls"): ACME_HANDLER_TIMEOUT bounds each request, but a call sends many (newOrder sent
// again on each badNonce, up to 17 times, RFC 8555 §6.5; one read per authorization; all again
// at each CA passed over), so a CA answering each slowly but in time held the handler and its
// client with no limit. Against the stand-in CA tests/support/stalled_ca.py --slow-answers
// --bad-nonce-new-order: each answer 1 s late (under the 2 s ACME_HANDLER_TIMEOUT), every
// newOrder refused badNonce.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh::test;
using Clock = std::chrono::steady_clock;

namespace {

// The call's budget at the CAs: six ACME_HANDLER_TIMEOUTs (README, issue_start.cpp's
// kCaBudgetTimeouts), 12 s with the 2 s below.
constexpr int kBudgetSeconds = 6 * 2;
// Each answer's delay at the stand-in: every request the call sends takes at least this long.
constexpr int kAnswerSeconds = 1;
// What the call sent without the budget: the directory, newAccount and 17 newOrders (the
// first and its 16 badNonce retries, acme/transport_post.cpp's kBadNonceRetries).
constexpr int kRequestsWithoutBudget = 1 + 1 + 17;

}  // namespace

TEST_CASE("CA call budget: a CA answering every request late but in time ends issue-certificate "
          "after six ACME_HANDLER_TIMEOUTs at the CA, as a CA that did not answer") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--slow-answers", std::to_string(kAnswerSeconds),
                  "--bad-nonce-new-order"});
    ApiServer api("ca-call-budget",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "2s"}});
    const TestDomain domain = verifiedDomain("ca-call-budget", leftovers);

    const auto started = Clock::now();
    const HttpResult answer =
        send(api.baseUrl(),
             {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    CAPTURE(seconds);
    INFO(answer.status << ": " << answer.body << "\nCA: " << describe(ca.process())
                       << "\nhandlers: " << readFile(api.handlersLog().string()));

    // The answer of a CA that did not answer in time (ca_budget_test.cpp), naming this call's
    // budget. Without the budget: the 17th badNonce, 502 ca_refused, some 19 s on.
    CHECK(answer.status == 502);
    REQUIRE(isJsonAnswer(answer));
    CHECK(answer.jsonString("error_code") == "ca_unreachable");
    CHECK(answer.jsonString("error").find("this call's") != std::string::npos);
    CHECK(answer.retryAfterSeconds() > 0);

    // Each request took at least kAnswerSeconds of the budget: no more than one per such
    // second was sent, the last one perhaps cut by the budget's end.
    const int sent = ca.requests("GET", "/") + ca.requests("POST", "/") + ca.requests("HEAD", "/");
    CHECK(sent >= 3);  // the directory, newAccount and at least one newOrder
    CHECK(sent <= kBudgetSeconds / kAnswerSeconds + 1);
    CHECK(sent < kRequestsWithoutBudget);
    CHECK(ca.requests("POST", "/order-plz") < 17);

    // The domain as it was, no order kept (the claim removed).
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE("CA call budget: an order abandoned with little of the budget left still gives its "
          "authorizations back, each request with its own timeout") {
    // RFC 8555 §7.5.2: an order given up after newOrder deactivates its authorizations, its URL
    // never stored. With 3 s per request the budget is 18 s; each answer takes 1 s and a little
    // more. The directory, newAccount and 11 newOrders refused badNonce take 13 s and more, the
    // 12th newOrder is sent with at least its 3 s left and taken, the authorization's read
    // answers 500 (the order abandoned) with less than 3 s left: too little for the
    // deactivation, a POST that is never sent with less than its timeout. Before, it went under
    // the budget too, and was not sent.
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--slow-answers", "1", "--bad-nonce-new-order", "11",
                  "--authorization-error", "500"});
    ApiServer api("ca-call-budget-give-back",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "3s"}});
    const TestDomain domain = verifiedDomain("ca-call-budget-give-back", leftovers);

    const HttpResult answer =
        send(api.baseUrl(),
             {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    INFO(answer.status << ": " << answer.body << "\nCA: " << describe(ca.process())
                       << "\nhandlers: " << readFile(api.handlersLog().string()));

    CHECK(answer.status == 502);
    REQUIRE(ca.requests("POST", "/order-plz") == 12);  // the order was taken at the CA
    CHECK(ca.requests("DEACTIVATED", "/authz/") >= 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}

TEST_CASE("CA call budget: an authorization read the budget cut is no CA that did not answer: the "
          "order's authorizations are still given back") {
    // A read cut by the budget says nothing of the CA. Before, it was taken for a CA that did not
    // answer, and the give-back was skipped (a CA that does not answer would not answer it
    // either). 3 s per request, so an 18 s budget; each answer takes 2 s and a little more. The
    // directory, newAccount and 5 newOrders refused badNonce take 14 s and more, the 6th newOrder
    // is sent with at least its 3 s left and taken, and its authorization's read, which the
    // stand-in holds 30 s more, is given the less than 2 s left and cut. (The test client waits
    // 30 s for the answer: about 20 s here.)
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--slow-answers", "2", "--bad-nonce-new-order", "5",
                  "--slow-authorization-read", "30"});
    ApiServer api("ca-call-budget-cut-read",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "3s"}});
    const TestDomain domain = verifiedDomain("ca-call-budget-cut-read", leftovers);

    const HttpResult answer =
        send(api.baseUrl(),
             {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    INFO(answer.status << ": " << answer.body << "\nCA: " << describe(ca.process())
                       << "\nhandlers: " << readFile(api.handlersLog().string()));

    CHECK(answer.status == 502);
    REQUIRE(ca.requests("POST", "/order-plz") == 6);  // the order was taken at the CA
    CHECK(answer.jsonString("error_code") == "ca_unreachable");
    CHECK(ca.requests("DEACTIVATED", "/authz/") >= 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}

TEST_CASE("CA call budget: with ACME_HANDLER_TIMEOUT past half the issue claim the budget still "
          "holds two of it, so newOrder is sent") {
    // The budget is at most half the 5-minute claim, but newOrder goes only with a whole request
    // timeout left: with 200 s per request a 150 s budget would never send it (502 for every
    // call). It is never under two request timeouts.
    Leftovers leftovers;
    StalledCa ca({"--stall", "none"});
    ApiServer api("ca-call-budget-long-timeout",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "200s"}});
    const TestDomain domain = verifiedDomain("ca-call-budget-long-timeout", leftovers);

    const HttpResult answer =
        send(api.baseUrl(),
             {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    INFO(answer.status << ": " << answer.body << "\nCA: " << describe(ca.process()));
    CHECK(answer.status == 202);
    CHECK(ca.requests("POST", "/order-plz") == 1);
}
