// newAccount answered with another success status than RFC 8555 §7.3's 201 (created) or 200 (the
// key's account), against the stand-in CA tests/support/stalled_ca.py --bad-answer
// account-redirect: a 307 to https://elsewhere.example/acct/1, as a proxy in front of the CA may
// send. The client refuses it as the CA's protocol error (502) and keeps nothing of it: its
// Location is no account URL (acme/client.hpp). newOrder's such answer: ca_order_shape_test.
#include <doctest/doctest.h>

#include <string>

#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "crypto/keys.hpp"
#include "fault/ca_refusal.hpp"
#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh;
using namespace dnsh::test;

TEST_CASE("CA answer status: newAccount answered 307 is the CA's 502, no account URL taken") {
    StalledCa ca({"--stall", "none", "--bad-answer", "account-redirect"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    try {
        const std::string url = client.newAccount(key.get(), "");
        // Before: the redirect's Location taken as the account's URL, every later request
        // signed with it as the kid.
        FAIL("newAccount took the 307's Location as the account URL: " << url);
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail);
        CHECK(e.problem().status == 502);
        CHECK(e.retryable());
        CHECK(names(e, "HTTP 307"));
        CHECK(names(e, "https://elsewhere.example/acct/1"));
    }
    CHECK(client.accountUrl().empty());
    CHECK(ca.requests("REDIRECTED", "/account") == 1);
}

TEST_CASE("CA answer status: issue-certificate at a CA whose newAccount answers 307 stores no "
          "account URL and places no order") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--bad-answer", "account-redirect"});
    // An earlier case's stand-in at this port may have left an account URL: this one would be
    // used, and newAccount never sent.
    const std::string atStandIn = "WHERE directory_url = " + quoted(ca.directory());
    const std::string account = "FROM acme_accounts " + atStandIn;
    execute("UPDATE acme_accounts SET account_url = NULL, persist_issuer = NULL " + atStandIn);
    const TestDomain domain = verifiedDomain("ca-answer-status", leftovers);
    const HttpResult refused = [&] {
        ApiServer api("ca-answer-status", {{"ACME_DIRECTORY", ca.directory()}});
        return send(api.baseUrl(), issueRequest(domain));
    }();
    INFO(refused.body << "\n" << describe(ca.process()));
    // Before: 202, the order placed with https://elsewhere.example/acct/1 as the account, and
    // that URL stored in acme_accounts for every later process.
    CHECK(refused.status == 502);
    CHECK(ca.requests("REDIRECTED", "/account") >= 1);
    CHECK(scalar("SELECT coalesce(max(account_url), '') " + account).empty());
    CHECK(ca.requests("POST", "/order-plz") == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}
