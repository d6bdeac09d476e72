// The database fails issue-certificate after the CA placed the order (README "How issuance and
// renewal work"): here the domain row held by another session past DB_LOCK_TIMEOUT while the
// stand-in CA (tests/support/stalled_ca.py) holds newOrder's answer. The handler answers 503
// with Retry-After, removes its claim and gives the placed order's authorization back (RFC 8555
// §7.5.2), so the client's retry once the row is free gets its order, not 409 "in progress".
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/held_rows.hpp"
#include "support/http_client.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE("issue store failure: the domain row locked past DB_LOCK_TIMEOUT while the CA places "
          "the order gives 503, the claim dropped and the authorization given back, and the retry "
          "gets 202") {
    Leftovers leftovers;
    // newOrder answered after 3 s: time to lock the row while the handler waits for it.
    StalledCa ca({"--stall", "new-order", "--delay", "3"});
    ApiServer api("issue-store-failure", {{"ACME_DIRECTORY", ca.directory()},
                                          {"ACME_HANDLER_TIMEOUT", "10s"},
                                          {"DB_LOCK_TIMEOUT", "1s"}});
    const TestDomain domain = verifiedDomain("issue-store-failure", leftovers);
    const HttpRequest issue{"POST", "/domains/" + domain.id + "/issue-certificate", "",
                            "application/json", {}};
    const std::string ofDomain = " FROM acme_orders WHERE domain_id = " + quoted(domain.id);

    std::future<HttpResult> first =
        std::async(std::launch::async, [&] { return send(api.baseUrl(), issue); });
    REQUIRE_MESSAGE(waitFor(5s, [&] { return ca.requests("POST", "/order-plz") == 1; }, 20ms),
                    describe(ca.process()));
    HttpResult failed;
    {
        HeldRows held(databaseUrl(),
                      "SELECT id FROM domains WHERE id = " + quoted(domain.id) + " FOR UPDATE");
        REQUIRE(first.wait_for(20s) == std::future_status::ready);
        failed = first.get();
        held.release();
    }
    INFO("first: " << failed.status << " " << failed.body << "\nCA: " << describe(ca.process())
                   << "\nhandlers: " << readFile(api.handlersLog().string()));
    REQUIRE(failed.status == 503);
    CHECK(failed.retryAfterSeconds() >= 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    // Before: the claim stayed (place_order, never due, leased for 5 minutes) and the order's
    // authorization was never deactivated.
    CHECK(count("SELECT count(*)" + ofDomain + " AND step = 'place_order'") == 0);
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 1);

    // As the 503 invites. Before: 409 "a certificate order for this domain is already in
    // progress" for 5 minutes, while GET said verified.
    std::this_thread::sleep_for(std::chrono::seconds(failed.retryAfterSeconds()));
    const HttpResult retry = send(api.baseUrl(), issue);
    INFO("retry: " << retry.status << " " << retry.body);
    CHECK(retry.status == 202);
    CHECK(ca.requests("POST", "/order-plz") == 2);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
}
