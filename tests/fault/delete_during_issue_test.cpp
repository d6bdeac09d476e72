// A DELETE /domains/{id} and what its domain's orders hold at the CA (README "Limits": orders
// nobody finishes are given back). The delete reads the authorizations under the domain's row
// lock, in the transaction that deletes the domain (whose cascade removes every order), and gives
// them back after its commit (RFC 8555 §7.5.2), one CA request each: an order stored just before
// it is given back too, an issue-certificate retry while it is at the CA finds the domain gone,
// and a delete that fails (the row held past DB_LOCK_TIMEOUT: 503) gives back nothing, so the
// order the domain keeps can still finish. Against the stand-in CA (tests/support/stalled_ca.py
// --hold-deactivation-while holds the delete's first deactivation). And a scheduler's placement
// (a renewal, or an issue order it places) still at the CA when the delete commits: its writes
// find the order row gone (LeaseLost), and it gives the new order's authorizations back itself
// (--hold-authorization-while holds its read of the authorization, after newOrder, until the
// delete is done). And an issue-certificate call at the CA (its read of the new order's
// authorization held the same way) when the delete commits: 404, the order's authorizations
// given back (or, when the CA then fails it, still 404), where its write of the CAA check found
// the claim gone (LeaseLost) and the call answered 500.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/held_rows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The path at the stand-in of the authorization of the domain's order in `status`.
std::string authorizationPath(const TestDomain& domain, const std::string& status) {
    const std::string url = scalar(
        "SELECT c.authorization_url FROM acme_challenges c JOIN acme_orders o "
        "ON o.id = c.order_id WHERE o.domain_id = " +
        quoted(domain.id) + " AND o.status = " + quoted(status));
    const std::size_t at = url.find("/authz/");
    REQUIRE_MESSAGE(at != std::string::npos, "no authorization stored: " << url);
    return url.substr(at);
}

// Deactivations of the authorization at `path` the stand-in answered ("DEACTIVATED PATH t=").
int deactivations(const StalledCa& ca, const std::string& path) {
    return ca.requests("DEACTIVATED", path + " ");
}

// issue-certificate on a verified domain, its read of the new order's authorization held at
// the stand-in (started with `caArgs` and --hold-authorization-while) until DELETE /domains/{id}
// has answered 204: the issue call's answer.
HttpResult issueWhileDeleted(const std::string& name, std::vector<std::string> caArgs) {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string hold = scratch.path() + "/hold";
    caArgs.insert(caArgs.end(), {"--hold-authorization-while", hold});
    StalledCa ca(caArgs);
    ApiServer api(name, {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "20s"}});
    const TestDomain domain = verifiedDomain(name, leftovers);
    scratch.write("hold", "");
    std::future<HttpResult> issuing;
    // Declared after the future: whatever stops the case, the stand-in answers first.
    struct LetGo {
        std::string file;
        ~LetGo() { std::filesystem::remove(file); }
    } letGo{hold};
    issuing = std::async(std::launch::async, [&] {
        return send(api.baseUrl(), {"POST", "/domains/" + domain.id + "/issue-certificate", "",
                                    "application/json", {}});
    });
    // newOrder answered; the handler's read of the new order's authorization waits at the CA.
    REQUIRE_MESSAGE(waitFor(10s, [&] { return ca.requests("HELD", "/authz/") == 1; }, 20ms),
                    "the call never reached the authorization: " << describe(ca.process()));
    const HttpResult deleted = send(api.baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}});
    REQUIRE_MESSAGE(deleted.status == 204, deleted.body);
    std::filesystem::remove(hold);
    REQUIRE(issuing.wait_for(30s) == std::future_status::ready);
    const HttpResult issued = issuing.get();
    INFO("issue-certificate: " << issued.status << " " << issued.body
                               << "\nCA: " << describe(ca.process())
                               << "\nhandlers: " << readFile(api.handlersLog().string()));
    CHECK(ca.requests("POST", "/order-plz") == 1);
    // Before: the handlers' log had "unhandled error ... lease on order ... lost".
    CHECK(readFile(api.handlersLog().string()).find("unhandled error") == std::string::npos);
    // RFC 8555 §7.5.2: nobody will answer the order's authorization (a failed read's order is
    // given back by the placement itself). Before (a CA that took the order): 0.
    CHECK(ca.requests("DEACTIVATED", "/authz/") == 1);
    return issued;
}

}  // namespace

TEST_CASE("delete during issue-certificate at the CA: the call answers 404 and gives the new "
          "order's authorization back") {
    const HttpResult issued = issueWhileDeleted("delete-at-ca", {"--stall", "none"});
    // Before: 500 {"error":"internal error"}: the CAA check's write after the CA answered found
    // the claim gone (LeaseLost), so the store's give-back never ran.
    CHECK(issued.status == 404);
}

TEST_CASE("delete during issue-certificate that no CA takes: the call answers 404") {
    // The held read is then failed (serverInternal): the CA is passed over, no CA took it.
    const HttpResult issued =
        issueWhileDeleted("delete-no-ca", {"--stall", "none", "--authorization-error", "500"});
    // Before: 500 {"error":"internal error"}: the last CA's CAA check's write found the claim
    // gone (LeaseLost).
    CHECK(issued.status == 404);
}

TEST_CASE("delete: the authorizations are given back after the commit, the failed order's and "
          "the live one's, and a retry of issue-certificate meanwhile finds the domain gone") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string hold = scratch.path() + "/hold";
    StalledCa ca({"--stall", "none", "--hold-deactivation-while", hold});
    ApiServer api("delete-gives-back",
                  {{"ACME_DIRECTORY", ca.directory()}, {"ACME_HANDLER_TIMEOUT", "20s"}});
    const TestDomain domain = verifiedDomain("delete-gives-back", leftovers);
    const HttpRequest issue{"POST", "/domains/" + domain.id + "/issue-certificate", "",
                            "application/json", {}};

    // A first order, failed as the scheduler fails one: its authorization is one the delete
    // gives back (a failed order's, RFC 8555 §7.1.4).
    const HttpResult first = send(api.baseUrl(), issue);
    REQUIRE_MESSAGE(first.status == 202, first.body);
    execute("UPDATE acme_orders SET status = 'invalid', error = 'test', error_code = 'internal', "
            "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL "
            "WHERE domain_id = " + quoted(domain.id));
    execute("UPDATE domains SET status = 'failed', error = 'test', error_code = 'internal' "
            "WHERE id = " + quoted(domain.id));
    const std::string failedAuthorization = authorizationPath(domain, "invalid");
    // The retry of the failed domain: a live order, stored before the delete.
    const HttpResult retry = send(api.baseUrl(), issue);
    REQUIRE_MESSAGE(retry.status == 202, retry.body);
    const std::string liveAuthorization = authorizationPath(domain, "pending");
    REQUIRE(liveAuthorization != failedAuthorization);

    // The delete waits at the CA on its first deactivation.
    scratch.write("hold", "");
    std::future<HttpResult> deletion;
    // Declared after the future: whatever stops the case, the stand-in answers first.
    struct LetGo {
        std::string file;
        ~LetGo() { std::filesystem::remove(file); }
    } letGo{hold};
    deletion = std::async(std::launch::async, [&] {
        return send(api.baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}});
    });
    REQUIRE_MESSAGE(waitFor(10s, [&] { return ca.requests("HELD", "/authz/") == 1; }, 20ms),
                    "the delete's deactivation never reached the stand-in: "
                        << describe(ca.process()));
    // Before: the domain was still there while the delete was at the CA (deactivated first,
    // deleted after), and this call answered 409 for an order the delete was failing.
    CHECK(count("SELECT count(*) FROM domains WHERE id = " + quoted(domain.id)) == 0);
    const HttpResult again = send(api.baseUrl(), issue);
    INFO("issue-certificate during the delete: " << again.status << " " << again.body);
    CHECK(again.status == 404);

    std::filesystem::remove(hold);
    REQUIRE(deletion.wait_for(30s) == std::future_status::ready);
    const HttpResult deleted = deletion.get();
    INFO("DELETE: " << deleted.status << " " << deleted.body << "\nCA: " << describe(ca.process())
                    << "\nhandlers: " << readFile(api.handlersLog().string()));
    CHECK(deleted.status == 204);
    CHECK(ca.requests("POST", "/order-plz") == 2);
    CHECK(deactivations(ca, failedAuthorization) == 1);
    CHECK(deactivations(ca, liveAuthorization) == 1);
}

TEST_CASE("delete that fails on a held row: nothing given back, the live order still pending") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none"});
    ApiServer api("delete-fails", {{"ACME_DIRECTORY", ca.directory()},
                                   {"ACME_HANDLER_TIMEOUT", "10s"},
                                   {"DB_LOCK_TIMEOUT", "1s"}});
    const TestDomain domain = verifiedDomain("delete-fails", leftovers);
    const HttpResult issued = send(
        api.baseUrl(),
        {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    REQUIRE_MESSAGE(issued.status == 202, issued.body);
    const std::string liveAuthorization = authorizationPath(domain, "pending");

    HttpResult failed;
    {
        // An operator's long transaction, or a writer, holds the domain's row past
        // DB_LOCK_TIMEOUT.
        HeldRows held(databaseUrl(),
                      "SELECT id FROM domains WHERE id = " + quoted(domain.id) + " FOR UPDATE");
        failed = send(api.baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}});
        held.release();
    }
    INFO("DELETE: " << failed.status << " " << failed.body << "\nCA: " << describe(ca.process())
                    << "\nhandlers: " << readFile(api.handlersLog().string()));
    REQUIRE(failed.status == 503);
    CHECK(failed.retryAfterSeconds() >= 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
    // RFC 8555 §7.5.2 makes a deactivation final. Before: 1, the delete had given the live
    // order's authorization back before its transaction, so the order the customer kept could
    // only fail at the CA.
    CHECK(deactivations(ca, liveAuthorization) == 0);

    // The client's retry, as the 503 invites, deletes and gives it back.
    const HttpResult deleted = send(api.baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}});
    CHECK(deleted.status == 204);
    CHECK(deactivations(ca, liveAuthorization) == 1);
}

TEST_CASE("delete during a scheduler's placement: the order the CA created while the delete "
          "committed has its authorization deactivated") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string hold = scratch.path() + "/hold";
    scratch.write("hold", "");
    // Declared before the scheduler: whatever stops the case, the stand-in answers first.
    struct LetGo {
        std::string file;
        ~LetGo() { std::filesystem::remove(file); }
    } letGo{hold};
    StalledCa ca({"--stall", "none", "--hold-authorization-while", hold});
    // An issue order in place_order, as issue-certificate's retry after a failed store or
    // replace() leave one for the scheduler; a renewal's placement is the same step.
    const TestDomain domain = verifiedDomain("delete-during-placement", leftovers);
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id = " + quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    const auto scheduler = startScheduler({{"ACME_DIRECTORY", ca.directory()}});

    // newOrder answered; the scheduler's read of the new order's authorization waits at the CA.
    REQUIRE_MESSAGE(waitFor(20s, [&] { return ca.requests("HELD", "/authz/") == 1; }, 20ms),
                    "the placement never reached the authorization: " << describe(ca.process())
                                                                      << "\n"
                                                                      << describe(*scheduler));
    const HttpResult deleted = send(baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}});
    REQUIRE_MESSAGE(deleted.status == 204, deleted.body);
    REQUIRE(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);

    std::filesystem::remove(hold);
    // Before: the scheduler's LeaseLost ended the step and the authorization stayed pending at
    // the CA, counting against the account's pending authorizations until it expired.
    const bool deactivated =
        waitFor(20s, [&] { return ca.requests("DEACTIVATED", "/authz/") == 1; }, 20ms);
    INFO("CA: " << describe(ca.process()) << "\nscheduler: " << describe(*scheduler));
    CHECK(deactivated);
    CHECK(ca.requests("POST", "/order-plz") == 1);
    CHECK(scheduler->log().find("order placed for a deleted domain") != std::string::npos);
    CHECK(scheduler->terminate() == 0);
}
