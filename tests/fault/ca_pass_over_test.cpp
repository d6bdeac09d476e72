// What passes an order over to the next CA (README "Several CAs"), against two stand-in CAs
// (tests/support/stalled_ca.py) named in an ACME_CAS_FILE of the case's own lighttpd. A newOrder
// refusing our stored account (--new-order-problem: userActionRequired, RFC 8555 §7.3.3, new
// terms to agree to; unauthorized, §7.3.6, a deactivated account; accountDoesNotExist after the
// key was registered again) sends the order to the second CA, and the handlers' "CA passed
// over" line names the reason; an unauthorized whose subproblems name the identifiers (§6.7.1)
// refuses the names and stops the search, answered as the CA's refusal, unless that CA was only
// moved ahead for the customer's dns-persist-01 record: its refusal then passes over to the CA
// it was moved ahead of. And POST /domains with a profile the CA that answered does not offer,
// while the other CA's directory could not be read: 502 with Retry-After when it may answer
// later (unreachable), 400 naming it when it refused for good (404) (README "Certificate
// profiles").
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fault/several_cas.hpp"
#include "fault/stand_in_issuance.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// The directory URL of the CA the domain's order is stored at ("" without one).
std::string orderedAt(const TestDomain& domain) {
    return scalar("SELECT coalesce(max(a.directory_url), '') FROM acme_orders o JOIN "
                  "acme_accounts a ON a.id = o.account_id WHERE o.domain_id = " +
                  quoted(domain.id));
}

}  // namespace

TEST_CASE("CA pass-over: newOrder refusing our account at the first CA (userActionRequired, "
          "unauthorized, accountDoesNotExist) sends the order to the second, the reason logged") {
    // The stand-in's problem, and the reason the "CA passed over" line gives.
    const std::vector<std::pair<std::string, std::string>> refusals = {
        {"userActionRequired", "user_action_required"},
        {"unauthorized", "account_refused"},
        {"accountDoesNotExist", "account_refused"}};
    for (const auto& refusal : refusals) {
        const std::string problem = refusal.first;
        const std::string reason = refusal.second;
        CAPTURE(problem);
        Leftovers leftovers;
        StalledCa first({"--stall", "none", "--new-order-problem", problem});
        StalledCa second({"--stall", "none"});
        const TestDomain domain = verifiedDomain("ca-pass-over", leftovers);
        const TempDir dir;
        ApiServer api("ca-pass-over",
                      severalCas(twoCaFile(dir, first.directory(), second.directory())));
        const HttpResult placed = send(api.baseUrl(), issueRequest(domain));
        INFO(placed.body << "\n" << describe(first.process()) << "\n"
                         << describe(second.process()));
        // Before: 502 ca_refused, the first CA's refusal of our account stopping the search as
        // one of the names would: no newOrder at the second (0), and each retry, renewals
        // included, refused the same way while the second CA was there to take it.
        CHECK(placed.status == 202);
        // accountDoesNotExist: the key is registered again and newOrder sent once more first.
        CHECK(first.requests("POST", "/order-plz") == (problem == "accountDoesNotExist" ? 2 : 1));
        CHECK(second.requests("POST", "/order-plz") == 1);
        CHECK(orderedAt(domain) == second.directory());
        // The operator sees why the first CA was passed over (the API client sees 202).
        const std::string reasonField = "\"reason\":\"" + reason + "\"";
        const auto logged = [&] {
            return readFile(api.handlersLog().string()).find(reasonField) != std::string::npos;
        };
        CHECK(waitFor(5s, logged));
        const std::string log = readFile(api.handlersLog().string());
        INFO(log);
        CHECK(log.find("\"msg\":\"CA passed over\"") != std::string::npos);
        CHECK(log.find("\"ca\":\"" + first.directory() + "\"") != std::string::npos);
    }
}

TEST_CASE("CA pass-over: an unauthorized newOrder whose subproblems name the identifiers refuses "
          "the names: 502 ca_refused, nothing asked of the second CA") {
    Leftovers leftovers;
    StalledCa first({"--stall", "none", "--new-order-problem", "unauthorized-names"});
    StalledCa second({"--stall", "none"});
    const TestDomain domain = verifiedDomain("ca-pass-over-names", leftovers);
    const TempDir dir;
    ApiServer api("ca-pass-over-names",
                  severalCas(twoCaFile(dir, first.directory(), second.directory())));
    const HttpResult refused = send(api.baseUrl(), issueRequest(domain));
    INFO(refused.body << "\n" << describe(first.process()) << "\n"
                      << describe(second.process()));
    // RFC 8555 §6.7.1: the CA ties its refusal to the names; the next CA would not hide it
    // behind an order placed elsewhere, the customer is told.
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_refused");
    CHECK(refused.jsonString("error") ==
          "ACME CA refused: The stand-in will not issue for these names");
    CHECK(first.requests("POST", "/order-plz") == 1);
    CHECK(second.requests("POST", "/order-plz") == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE("CA pass-over: a CA moved ahead for the customer's dns-persist-01 record that refuses "
          "the names (rejectedIdentifier) passes the order over to the first CA, with dns-01") {
    Leftovers leftovers;
    SandboxRecords records;
    // The first CA offers dns-01 alone and names no issuer for CAA (no record can be usable
    // there); the second names one, offers dns-persist-01, and refuses every newOrder with a
    // problem that is no pass-over reason of its own (ca_fallback.cpp passOverReason).
    StalledCa first({"--stall", "none", "--dns01-only"});
    StalledCa second({"--stall", "none", "--caa-identities", "--new-order-problem",
                      "rejectedIdentifier"});
    const TestDomain domain = verifiedDomain("ca-pass-over-moved", leftovers);
    // The customer's record for the second CA: its issuer, our account there (the stand-in
    // answers every newAccount with its /account/1).
    records.txt("_validation-persist." + domain.name,
                "stand-in.test; accounturi=https://127.0.0.1:" + std::to_string(second.port()) +
                    "/account/1");
    // An account row an earlier case left at the same loopback port may say the method is not
    // offered there: unknown again, as for a CA never seen.
    execute("UPDATE acme_accounts SET persist_offered = NULL WHERE directory_url = " +
            quoted(second.directory()));
    const TempDir dir;
    Env env = severalCas(twoCaFile(dir, first.directory(), second.directory()));
    env["LOG_LEVEL"] = "info";  // the line saying the second CA was tried first
    ApiServer api("ca-pass-over-moved", env);
    const HttpResult placed = send(api.baseUrl(), issueRequest(domain));
    INFO(placed.body << "\n" << describe(first.process()) << "\n"
                     << describe(second.process()));
    // Before: 502 ca_refused, the second CA's refusal ending the search though the first CA,
    // whose turn it was, had passed its check and would have taken the order.
    CHECK(placed.status == 202);
    CHECK(placed.jsonString("validation_method") == "dns-01");
    CHECK(second.requests("POST", "/order-plz") == 1);
    CHECK(first.requests("POST", "/order-plz") == 1);
    CHECK(orderedAt(domain) == first.directory());
    const std::string reasonField = "\"reason\":\"refused_when_moved_ahead\"";
    const auto logged = [&] {
        return readFile(api.handlersLog().string()).find(reasonField) != std::string::npos;
    };
    CHECK(waitFor(5s, logged));
    const std::string log = readFile(api.handlersLog().string());
    INFO(log);
    CHECK(log.find("a later CA tried first") != std::string::npos);
    // The "CA passed over" line with that reason names the second CA.
    const std::size_t at = log.find(reasonField);
    REQUIRE(at != std::string::npos);
    const std::size_t newline = log.rfind('\n', at);
    const std::size_t lineStart = newline == std::string::npos ? 0 : newline + 1;
    const std::string line = log.substr(lineStart, log.find('\n', at) - lineStart);
    CHECK(line.find("\"msg\":\"CA passed over\"") != std::string::npos);
    CHECK(line.find("\"ca\":\"" + second.directory() + "\"") != std::string::npos);
}

TEST_CASE("CA pass-over: POST /domains with a profile the CA that answered does not offer, the "
          "other CA's directory unread: 502 with Retry-After, nothing registered") {
    StalledCa second({"--stall", "none"});  // offers "default" alone
    const TempDir dir;
    // The first CA at the discard port, where nothing listens (faults_test's unreachable CA).
    const std::string unread = "https://127.0.0.1:9/dir";
    ApiServer api("ca-pass-over-profile", severalCas(twoCaFile(dir, unread, second.directory())));
    const std::string name = uniqueDomainName("ca-pass-over-profile");
    const auto registration = [&](const std::string& profile) {
        return send(api.baseUrl(), {"POST", "/domains",
                                    "{\"domain_name\": \"" + name + "\", \"profile\": \"" +
                                        profile + "\"}",
                                    "application/json", {}});
    };

    const HttpResult refused = registration("shortlived");
    INFO(refused.body << "\n" << describe(second.process()));
    // Before: 400 invalid_profile "profile "shortlived" is not offered by the CA; it offers:
    // https://127.0.0.1:N/dir: default", the client told the profile is wrong while the CA that
    // may offer it was never read.
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_unreachable");
    CHECK(refused.retryAfterSeconds() >= 1);
    const std::string error = refused.jsonString("error");
    CHECK(error.find(unread + ": ") != std::string::npos);
    CHECK(error.find(second.directory() + ": default") != std::string::npos);
    CHECK(second.requests("GET", "/dir") >= 1);
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);

    // One CA that offers it is enough, the other unread or not.
    const HttpResult created = registration("default");
    CHECK(created.status == 201);
    execute("DELETE FROM domains WHERE domain_name = " + quoted(name));
}

TEST_CASE("CA pass-over: POST /domains with a profile the CA that answered does not offer, the "
          "other CA's directory refused for good (404): 400 invalid_profile naming it") {
    StalledCa second({"--stall", "none"});  // offers "default" alone
    // The first CA at a path of a stand-in that is no directory, as a wrong URL in the CA file:
    // answered 404, which a retry meets again.
    StalledCa wrongPath({"--stall", "none"});
    const std::string unread =
        "https://127.0.0.1:" + std::to_string(wrongPath.port()) + "/not-the-directory";
    const TempDir dir;
    ApiServer api("ca-pass-over-profile-404",
                  severalCas(twoCaFile(dir, unread, second.directory())));
    const std::string name = uniqueDomainName("ca-pass-over-profile-404");
    const HttpResult refused =
        send(api.baseUrl(), {"POST", "/domains",
                             "{\"domain_name\": \"" + name + "\", \"profile\": \"shortlived\"}",
                             "application/json", {}});
    INFO(refused.body << "\n" << describe(wrongPath.process()) << "\n"
                      << describe(second.process()));
    // Before: 502 ca_refused with Retry-After, the client told to retry what no retry changes.
    CHECK(refused.status == 400);
    CHECK(refused.jsonString("error_code") == "invalid_profile");
    const std::string error = refused.jsonString("error");
    CHECK(error.find("profile \"shortlived\" is not offered by the CA; it offers: " +
                     second.directory() + ": default") != std::string::npos);
    CHECK(error.find("directory not read: " + unread + ": ") != std::string::npos);
    CHECK(wrongPath.requests("GET", "/not-the-directory") >= 1);
    CHECK(second.requests("GET", "/dir") >= 1);
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);
}
