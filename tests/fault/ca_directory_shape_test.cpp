// A directory whose URLs RFC 8555 does not allow, against the stand-in CA
// tests/support/stalled_ca.py --bad-answer: a newNonce, newAccount or newOrder URL that is not
// https (§6.1), over 2,048 bytes or does not parse refuses the directory as the CA's protocol
// error (an AcmeError of status 502, its detail bounded; acme/client.hpp), before anything is
// sent to it, and issue-certificate answers 502 ca_refused. A renewalInfo of that shape is
// dropped instead: ARI is optional (RFC 9773), the CA is used without it. The same URLs in an
// order answer: ca_order_shape_test.
#include <doctest/doctest.h>

#include <chrono>
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
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

// The directory of a stand-in answering --bad-answer `what`, read by the client: its error,
// after checking it is the CA's protocol error, bounded.
acme::AcmeError directoryRefusal(const std::string& what) {
    StalledCa ca({"--stall", "none", "--bad-answer", what});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    try {
        const acme::Directory& directory = client.directory();
        // Before: taken, each URL to be requested as given.
        FAIL("the directory was taken: newNonce " << directory.newNonce.substr(0, 100)
                                                  << ", newAccount "
                                                  << directory.newAccount.substr(0, 100)
                                                  << ", newOrder "
                                                  << directory.newOrder.substr(0, 100));
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail.substr(0, 700));
        CHECK(e.problem().status == 502);
        CHECK(e.retryable());
        CHECK(e.problem().detail.size() <= kMaxRefusalDetailBytes);
        CHECK(ca.requests("GET", "/dir") == 1);
        return e;
    }
    return acme::AcmeError(acme::Problem{});
}

}  // namespace

TEST_CASE("CA directory shape: an http newAccount URL refuses the directory (RFC 8555 §6.1)") {
    const acme::AcmeError refused = directoryRefusal("directory-http-url");
    CHECK(names(refused, "directory \"newAccount\""));
    CHECK(names(refused, "http://127.0.0.1:"));
}

TEST_CASE("CA directory shape: a newOrder URL of 100,000 bytes refuses the directory, named cut") {
    // Before: taken; newOrder was then sent to a 100,000-byte URL.
    const acme::AcmeError refused = directoryRefusal("directory-long-url");
    CHECK(names(refused, "no https URL of at most 2048 bytes"));
    CHECK(names(refused, "directory \"newOrder\""));
    CHECK(names(refused, "/order-plz/aaa"));
}

TEST_CASE("CA directory shape: a newOrder URL that does not parse refuses the directory") {
    // "%zz" in its path (Poco::URI throws SyntaxException). Before: taken, and newOrder failed
    // in the transport ("the URL does not parse"), after newNonce and newAccount were sent.
    const acme::AcmeError refused = directoryRefusal("unparseable-url");
    CHECK(names(refused, "directory \"newOrder\""));
    CHECK(names(refused, "/order-plz%zz"));
}

TEST_CASE("CA directory shape: a URL that does not parse is the transport's typed error, not "
          "Poco's exception") {
    // What the directory check cannot catch: URLs stored before it (acme_orders,
    // acme_challenges). Without the transport's catch Poco::SyntaxException escapes (doctest
    // reports an unexpected exception); the scheduler took it for an internal error.
    StalledCa ca({"--stall", "none"});
    acme::Transport transport = makeStandInTransport();
    try {
        transport.get(ca.directory() + "%zz");
        FAIL("a URL that does not parse was requested");
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail);
        CHECK(e.problem().status == 502);
        CHECK(names(e, "does not parse"));
        CHECK(names(e, "/dir%zz"));
    }
    CHECK(ca.requests("GET", "/") == 0);
}

TEST_CASE("CA directory shape: an http renewalInfo is dropped, the CA used without ARI "
          "(RFC 9773 is optional)") {
    StalledCa ca({"--stall", "none", "--bad-answer", "directory-http-renewal-info"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    // Before: "http://127.0.0.1:.../renewal-info", each renewalInfo fetch then failing as an
    // unreachable CA ("ACME requires https"), retried.
    CHECK(client.directory().renewalInfo.empty());
    // The rest of the directory stands: an order is placed as at any CA.
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    CHECK(client.newOrder({"directory-shape.example"}, "", "default").authorizations.size() == 1);
    try {
        client.getRenewalInfo("aaaa.bbbb");
        FAIL("renewalInfo was asked for");
    } catch (const acme::AcmeError& e) {
        CHECK(e.problem().status == 404);  // "the CA offers no renewalInfo"
    }
}

TEST_CASE("CA directory shape: issue-certificate at a CA whose directory names an http URL "
          "answers 502 ca_refused") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--bad-answer", "directory-http-url"});
    const TestDomain domain = verifiedDomain("ca-directory-shape", leftovers);
    const HttpResult refused = [&] {
        ApiServer api("ca-directory-shape", {{"ACME_DIRECTORY", ca.directory()}});
        return send(api.baseUrl(), issueRequest(domain));
    }();
    INFO(refused.body << "\n" << describe(ca.process()));
    CHECK(refused.status == 502);
    // Before: ca_unreachable, the transport's "ACME requires https" for newAccount (status 0),
    // as if the CA were down.
    CHECK(refused.jsonString("error_code") == "ca_refused");
    CHECK(refused.jsonString("error").find("directory \"newAccount\"") != std::string::npos);
    CHECK(ca.requests("POST", "/") == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}
