// Order and authorization answers of a shape RFC 8555 does not allow, against the stand-in CA
// tests/support/stalled_ca.py --bad-answer: the ACME client refuses each as the CA's protocol
// error (an AcmeError of status 502, its detail bounded) before it requests, stores or answers
// anything the answer names (acme/client.hpp, acme/ca_strings.hpp); a refused newOrder answer is
// an order the CA holds (its budget token stays spent), and an authorization for another name is
// not deactivated. A newOrder answer without Location is the CA's 502 too, so the next CA takes
// the order, as is one of another status than 201 or 200 (a redirect). An answer that is unusual
// but allowed (two authorizations for one identifier) is taken, and so is an order whose expires
// is no RFC 3339 timestamp: as one without expires. The CA's long strings that are dropped, not
// refused: ca_long_strings_test; the directory's URLs: ca_directory_shape_test.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "crypto/keys.hpp"
#include "fault/ca_refusal.hpp"
#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/order_budget_check.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// newOrder for one name at a stand-in answering --bad-answer `what`: its error, after checking
// it is the CA's protocol error and that no authorization was asked for. `located`: whether the
// answer gave the order's Location.
acme::AcmeError newOrderRefusal(const std::string& what, bool located = true) {
    StalledCa ca({"--stall", "none", "--bad-answer", what});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    try {
        const acme::Order order = client.newOrder({"order-shape.example"}, "", "default");
        // Before: the order as sent, its authorizations for the scheduler to fetch and store.
        FAIL("newOrder took the answer: " << order.authorizations.size()
                                          << " authorizations, finalize "
                                          << order.finalize.substr(0, 100));
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail.substr(0, 700));
        CHECK(e.problem().status == 502);
        CHECK(e.retryable());
        CHECK(e.problem().detail.size() <= kMaxRefusalDetailBytes);
        CHECK(ca.requests("POST", "/authz/") == 0);
        // The CA created the order (201): refused as one it holds, at its Location if any.
        const auto* held = dynamic_cast<const acme::OrderAnswerRefused*>(&e);
        REQUIRE(held != nullptr);
        if (located)
            CHECK(held->orderUrl().find("/order/") != std::string::npos);
        else
            CHECK(held->orderUrl().empty());
        return e;
    }
    return acme::AcmeError(acme::Problem{});
}

// getAuthorization of the order's one authorization at a stand-in answering --bad-answer
// `what`: its error, checked as newOrderRefusal's.
acme::AcmeError authorizationRefusal(const std::string& what) {
    StalledCa ca({"--stall", "none", "--bad-answer", what});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    const acme::Order order = client.newOrder({"order-shape.example"}, "", "default");
    REQUIRE(order.authorizations.size() == 1);
    try {
        const acme::Authorization authorization =
            client.getAuthorization(order.authorizations.front());
        // Before: the token as sent, stored in acme_challenges and put in the TXT value.
        FAIL("the authorization was taken, its token "
             << authorization.challenges.back().token.size() << " bytes");
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail.substr(0, 700));
        CHECK(e.problem().status == 502);
        CHECK(e.problem().detail.size() <= kMaxRefusalDetailBytes);
        return e;
    }
    return acme::AcmeError(acme::Problem{});
}

// issue-certificate, under an order budget of 5/1h, at a stand-in whose newOrder answer (201, the
// order created) is refused for --bad-answer `what`: the CA's 502 after one newOrder, the order's
// budget token kept spent and none of its authorizations read or deactivated.
void checkRefusedOrderKeepsItsToken(const std::string& what) {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--bad-answer", what});
    const TestDomain domain = verifiedDomain("ca-order-shape-budget", leftovers);
    const HttpResult refused = [&] {
        ApiServer api("ca-order-shape",
                      {{"ACME_DIRECTORY", ca.directory()}, {"ACME_ORDER_BUDGET", "5/1h"}});
        return send(api.baseUrl(), issueRequest(domain));
    }();
    INFO(refused.body << "\n" << describe(ca.process()));
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_refused");
    REQUIRE(ca.requests("POST", "/order-plz") == 1);
    // The answer's authorizations are not read, so none is given back either.
    CHECK(ca.requests("POST", "/authz/") == 0);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    // RFC 8555 §7.4: the CA created the order and counts it, so its token stays spent. Before,
    // the refusal was taken for an order never placed: the token given back (5 left), and each
    // retry placed another order at the CA without spending one.
    checkOneOrderTokenSpent(ca.directory());
}

// issue-certificate at a stand-in whose newOrder answer's expires is --bad-answer `what` (no
// RFC 3339 timestamp, RFC 8555 §7.1.3): taken as absent, as from a CA that sends none. 202, the
// order stored without an expiry (POLL_TIMEOUT bounds it), and a warning naming the value as
// `shown`.
void checkExpiresTakenAsAbsent(const std::string& what, const std::string& shown) {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--bad-answer", what});
    const TestDomain domain = verifiedDomain("ca-order-expires", leftovers);
    ApiServer api("ca-order-expires", {{"ACME_DIRECTORY", ca.directory()}});
    const HttpResult placed = send(api.baseUrl(), issueRequest(domain));
    INFO(placed.body << "\n" << describe(ca.process()));
    CHECK(placed.status == 202);
    CHECK(ca.requests("POST", "/order-plz") == 1);
    CHECK(scalar("SELECT coalesce(expires_at::text, 'none') FROM acme_orders WHERE domain_id = " +
                 quoted(domain.id)) == "none");
    const std::string warning = "\"expires\":\"" + shown + "\"";
    const auto logged = [&] {
        return readFile(api.handlersLog().string()).find(warning) != std::string::npos;
    };
    CHECK(waitFor(5s, logged));
    const std::string log = readFile(api.handlersLog().string());
    INFO(log);
    CHECK(log.find("\"msg\":\"acme order's expires is no RFC 3339 timestamp") !=
          std::string::npos);
}

}  // namespace

TEST_CASE("CA order shape: newOrder's expires that is a number is taken as absent: "
          "issue-certificate answers 202, not 500") {
    // Before: PostgreSQL's cast of "12345" failed the store after the CA had made the order:
    // 500 "internal error" on every retry, no order stored, and no next CA tried (the
    // placement had succeeded). In the scheduler: the renewal placed again, 3 orders a time.
    checkExpiresTakenAsAbsent("expires-number", "12345");
}

TEST_CASE("CA order shape: newOrder's expires of tomorrow (the word) or without an offset is "
          "taken as absent, not read by PostgreSQL as a word or in its session's time zone") {
    // Before: 202 too, the order stored to expire at tomorrow's midnight, or at 2099-01-01 in
    // the session's TimeZone (under Asia/Tokyo 9 hours early).
    checkExpiresTakenAsAbsent("expires-word", "tomorrow");
    checkExpiresTakenAsAbsent("expires-no-offset", "2099-01-01T00:00:00");
}

TEST_CASE("CA order shape: newOrder listing 1,000 authorizations for one identifier is refused "
          "unread") {
    // Before: 1,000 authorization URLs; AcmeAccount::placeOrder read each (1,000 requests).
    CHECK(names(newOrderRefusal("many-authorizations"), "lists 1000 authorizations"));
}

TEST_CASE("CA order shape: an order listing two authorizations for its one identifier is taken "
          "(RFC 8555 §7.1.3: no 1:1 relationship)") {
    StalledCa ca({"--stall", "none", "--bad-answer", "two-authorizations"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    acme::Order order;
    try {
        order = client.newOrder({"order-shape.example"}, "", "default");
    } catch (const acme::AcmeError& e) {
        // Before: "the CA's answer lists 2 authorizations for an order of 1 identifiers".
        FAIL("newOrder refused it: " << e.problem().detail.substr(0, 300));
    }
    REQUIRE(order.authorizations.size() == 2);
    // Each is still checked to be for one of the order's identifiers where it is read.
    for (const auto& url : order.authorizations)
        CHECK(acme::authorizesIdentifierOf(client.getAuthorization(url), order));
}

TEST_CASE("CA order shape: an order for other identifiers than newOrder asked for is refused") {
    // Before: the order for other.example taken as order-shape.example's.
    CHECK(names(newOrderRefusal("other-identifiers"), "other identifiers"));
}

TEST_CASE("CA order shape: an authorization URL of 100,000 bytes is refused, named cut") {
    // Before: the URL taken whole (stored in acme_challenges, read by the scheduler).
    const acme::AcmeError refused = newOrderRefusal("long-url");
    CHECK(names(refused, "no https URL of at most 2048 bytes"));
    CHECK(names(refused, "/authz/"));
}

TEST_CASE("CA order shape: an http finalize URL is refused (RFC 8555 §6.1)") {
    // Before: taken; finalize was refused only when sent (as an unreachable CA, retried).
    const acme::AcmeError refused = newOrderRefusal("http-url");
    CHECK(names(refused, "\"finalize\""));
    CHECK(names(refused, "http://127.0.0.1:"));
}

TEST_CASE("CA order shape: a refused order for other identifiers keeps the order budget token "
          "spent") {
    checkRefusedOrderKeepsItsToken("other-identifiers");
}

TEST_CASE("CA order shape: a refused order with an http finalize URL keeps the order budget token "
          "spent") {
    checkRefusedOrderKeepsItsToken("http-url");
}

TEST_CASE("CA order shape: a dns-01 token of 100,000 bytes is refused") {
    // Before: the 100,000-byte token, for acme_challenges and the key authorization.
    CHECK(names(authorizationRefusal("long-token"), "challenge token"));
}

TEST_CASE("CA order shape: a dns-01 token with base64 padding is refused (RFC 8555 §8.1)") {
    // Before: "AAAA...A=" taken as the token.
    CHECK(names(authorizationRefusal("padded-token"), "challenge token"));
}

TEST_CASE("CA order shape: an authorization whose challenges hold a non-object is refused "
          "(RFC 8555 §7.1.4)") {
    // Before: getObject's null Ptr dereferenced, a Poco::NullPointerException (no AcmeError):
    // the case ends with that exception unexpected.
    CHECK(names(authorizationRefusal("challenge-not-object"), "challenge that is no object"));
}

TEST_CASE("CA order shape: after an authorization whose challenges hold a non-object the next CA "
          "takes the order, the first one's authorization given back") {
    Leftovers leftovers;
    StalledCa first({"--stall", "none", "--bad-answer", "challenge-not-object"});
    StalledCa second({"--stall", "none"});
    const TestDomain domain = verifiedDomain("ca-challenge-not-object", leftovers);
    const TempDir dir;
    const std::string bundle = requireEnv("ACME_CA_BUNDLE");
    const std::string file = dir.write("cas.env",
                                       "ACME_CAS=first,second\n"
                                       "ACME_CA_FIRST_DIRECTORY=" + first.directory() + "\n"
                                       "ACME_CA_FIRST_CA_BUNDLE=" + bundle + "\n"
                                       "ACME_CA_FIRST_PROFILE=default\n"
                                       "ACME_CA_FIRST_ORDER_BUDGET=5/1h\n"
                                       "ACME_CA_SECOND_DIRECTORY=" + second.directory() + "\n"
                                       "ACME_CA_SECOND_CA_BUNDLE=" + bundle + "\n"
                                       "ACME_CA_SECOND_PROFILE=default\n");
    const HttpResult placed = [&] {
        ApiServer api("ca-order-shape",
                      {{"ACME_DIRECTORY", ""}, {"ACME_PROFILE", ""}, {"ACME_CAS_FILE", file}});
        return send(api.baseUrl(), issueRequest(domain));
    }();
    INFO(placed.body << "\n" << describe(first.process()) << "\n" << describe(second.process()));
    // Before: 500 "internal error" (the NullPointerException is no AcmeError, so
    // placeAtFirstAvailable let it through): the second CA never asked (0 newOrders there) and
    // the first one's authorization not deactivated (0).
    CHECK(placed.status == 202);
    CHECK(first.requests("POST", "/order-plz") == 1);
    CHECK(second.requests("POST", "/order-plz") == 1);
    // Nobody will answer it: given back (RFC 8555 §7.5.2); the CA created the order and counts
    // it (§7.4), so its token stays spent.
    CHECK(first.requests("DEACTIVATED", "/authz/") == 1);
    checkOneOrderTokenSpent(first.directory());
}

TEST_CASE("CA order shape: an authorization for a name the order does not hold fails "
          "issue-certificate and is not deactivated") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--bad-answer", "other-authorization"});
    const TestDomain domain = verifiedDomain("ca-order-shape", leftovers);
    ApiServer api("ca-order-shape", {{"ACME_DIRECTORY", ca.directory()}});
    const HttpResult refused = send(api.baseUrl(), issueRequest(domain));
    INFO(refused.body << "\n" << describe(ca.process()));
    // Before: 202, the challenge for other.example stored as the domain's to answer.
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_refused");
    CHECK(refused.jsonString("error").find("is for other.example") != std::string::npos);
    CHECK(ca.requests("POST", "/chall/") == 0);
    // Not ours to give back (RFC 8555 §7.5.2): the CA reuses a valid authorization for any
    // order of the account and name (§7.1.4), so deactivating another name's could fail another
    // domain's order. Before: deactivated, judged by this domain's names (1).
    CHECK(ca.requests("POST", "/authz/") == 1);
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 0);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}

TEST_CASE("CA order shape: newOrder answered 201 without Location is the CA's 502 (RFC 8555 "
          "§7.4), the order unnamed") {
    // Before: "newOrder answered without Location" of status 201, the answer's own: not
    // retryable, and not passed over to the next CA (the status == 502 check fails: 201).
    CHECK(names(newOrderRefusal("new-order-no-location", false), "no Location header"));
}

TEST_CASE("CA order shape: newOrder answered 307 with the order in its body is the CA's 502 "
          "(RFC 8555 §7.4), the redirect's Location not taken for the order's URL") {
    const acme::AcmeError refused = newOrderRefusal("new-order-redirect", false);
    // Before: the order taken, its URL https://elsewhere.example/order/N, polled there.
    CHECK(names(refused, "HTTP 307"));
    CHECK(names(refused, "https://elsewhere.example/order/"));
}

TEST_CASE("CA order shape: after newOrder answered 201 without Location the next CA takes the "
          "order, the first one's budget token kept spent") {
    Leftovers leftovers;
    StalledCa first({"--stall", "none", "--bad-answer", "new-order-no-location"});
    StalledCa second({"--stall", "none"});
    const TestDomain domain = verifiedDomain("ca-order-no-location", leftovers);
    const TempDir dir;
    const std::string bundle = requireEnv("ACME_CA_BUNDLE");
    const std::string file = dir.write("cas.env",
                                       "ACME_CAS=first,second\n"
                                       "ACME_CA_FIRST_DIRECTORY=" + first.directory() + "\n"
                                       "ACME_CA_FIRST_CA_BUNDLE=" + bundle + "\n"
                                       "ACME_CA_FIRST_PROFILE=default\n"
                                       "ACME_CA_FIRST_ORDER_BUDGET=5/1h\n"
                                       "ACME_CA_SECOND_DIRECTORY=" + second.directory() + "\n"
                                       "ACME_CA_SECOND_CA_BUNDLE=" + bundle + "\n"
                                       "ACME_CA_SECOND_PROFILE=default\n");
    const HttpResult placed = [&] {
        ApiServer api("ca-order-shape",
                      {{"ACME_DIRECTORY", ""}, {"ACME_PROFILE", ""}, {"ACME_CAS_FILE", file}});
        return send(api.baseUrl(), issueRequest(domain));
    }();
    INFO(placed.body << "\n" << describe(first.process()) << "\n" << describe(second.process()));
    // Before: 502 ca_refused, the first CA's error (status 201) not one that passes over, and
    // the second CA never asked (0 newOrders there).
    CHECK(placed.status == 202);
    CHECK(first.requests("POST", "/order-plz") == 1);
    CHECK(second.requests("POST", "/order-plz") == 1);
    // Its answer named no order, so nothing of it is read or given back; the CA created it and
    // counts it (the 201), so its token stays spent.
    CHECK(first.requests("POST", "/authz/") == 0);
    CHECK(first.requests("DEACTIVATED", "/") == 0);
    checkOneOrderTokenSpent(first.directory());
}
