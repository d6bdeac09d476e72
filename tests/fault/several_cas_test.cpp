// Several CAs (issue 21, README "Several CAs"): the test stack's Pebble is the first CA and a
// second Pebble that requires External Account Binding (RFC 8555 §7.3.4; deploy/lib/stack.sh,
// "pebble-eab", its key in DNSH_TEST_EAB_*) the fallback, both named in an ACME_CAS_FILE that a
// lighttpd and a scheduler of the case's own read. The first CA is stopped for real. Where the
// first CA must offer dns-01 alone, it is the stand-in CA tests/support/stalled_ca.py
// --dns01-only and the stack's Pebble (which offers dns-persist-01) the second. Replicas run
// with different settings for a while: a CA one scheduler lacks, and DELEGATION_ZONE (a delegated
// domain as the end-to-end delegation cases make one, e2e/delegation_helpers.hpp).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e/delegation_helpers.hpp"
#include "fault/several_cas.hpp"
#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/service_control.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

std::string primaryCa() { return requireEnv("ACME_DIRECTORY"); }
std::string fallbackCa() { return requireEnv("ACME_DIRECTORY_EAB"); }

// The CA file: "primary" (the stack's Pebble) then "fallback" (the EAB one), with `hmacKey` as
// the fallback's EAB key.
std::string caFile(const TempDir& dir, const std::string& hmacKey) {
    return dir.write("cas.env",
                     "# written by several_cas_test\n"
                     "ACME_CAS=primary,fallback\n"
                     "ACME_CA_PRIMARY_DIRECTORY=" + primaryCa() + "\n"
                     "ACME_CA_PRIMARY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
                     "ACME_CA_PRIMARY_PROFILE=default\n"
                     "ACME_CA_FALLBACK_DIRECTORY=" + fallbackCa() + "\n"
                     "ACME_CA_FALLBACK_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
                     "ACME_CA_FALLBACK_PROFILE=default\n"
                     "ACME_CA_FALLBACK_EAB_KID=" + requireEnv("DNSH_TEST_EAB_KID") + "\n"
                     "ACME_CA_FALLBACK_EAB_HMAC_KEY=\"" + hmacKey + "\"\n");
}

HttpResult issueAt(const ApiServer& api, const TestDomain& domain) {
    HttpRequest request;
    request.method = "POST";
    request.path = "/domains/" + domain.id + "/issue-certificate";
    return send(api.baseUrl(), request);
}

std::string issuedAt(const ApiServer& api, const TestDomain& domain) {
    const HttpResult started = issueAt(api, domain);
    REQUIRE_MESSAGE(started.status == 202, domain.name << ": " << started.body);
    return started.jsonString("expected_txt_value");
}

// The domain view's certificate.ca ("" without one).
std::string certificateCa(const TestDomain& domain) {
    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE_MESSAGE(view.status == 200, view.body);
    const auto certificate = view.json()->getObject("certificate");
    return certificate ? certificate->optValue<std::string>("ca", "") : "";
}

long long certificatesOf(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

// Makes the current certificate due, publishes the value its renewal order asks for (the
// Pebbles of these cases reuse no authorization), and waits for the renewal to be stored; the new
// certificate's CA.
std::string renewed(const TestDomain& domain, const SchedulerProcess& scheduler) {
    const long long before = certificatesOf(domain);
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND domain_id = " +
            quoted(domain.id));
    const std::string liveValue =
        "SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.domain_id = " + quoted(domain.id) +
        " AND o.kind = 'renewal' AND o.status = 'pending' LIMIT 1";
    REQUIRE_MESSAGE(waitFor(20s, [&] { return count("SELECT count(*) FROM (" + liveValue + ") v") == 1; }),
                    "no renewal order: " << statusSummary({domain}) << "\n" << describe(scheduler));
    publish(domain, scalar(liveValue));
    REQUIRE_MESSAGE(waitFor(40s, [&] { return certificatesOf(domain) > before; }),
                    "no renewal: " << statusSummary({domain}) << "\n" << describe(scheduler));
    return scalar("SELECT ca FROM certificates WHERE domain_id = " + quoted(domain.id) +
                  " ORDER BY created_at DESC LIMIT 1");
}

// The CA file with an order budget at the first CA (and, unless `withFallback` is false, the
// second CA after it).
std::string budgetFile(const TempDir& dir, const std::string& budget, bool withFallback) {
    std::string text = std::string("ACME_CAS=primary") + (withFallback ? ",fallback" : "") + "\n" +
                       "ACME_CA_PRIMARY_DIRECTORY=" + primaryCa() + "\n" +
                       "ACME_CA_PRIMARY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n" +
                       "ACME_CA_PRIMARY_PROFILE=default\n" +
                       "ACME_CA_PRIMARY_ORDER_BUDGET=" + budget + "\n";
    if (withFallback)
        text += "ACME_CA_FALLBACK_DIRECTORY=" + fallbackCa() + "\n" +
                "ACME_CA_FALLBACK_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n" +
                "ACME_CA_FALLBACK_PROFILE=default\n" +
                "ACME_CA_FALLBACK_EAB_KID=" + requireEnv("DNSH_TEST_EAB_KID") + "\n" +
                "ACME_CA_FALLBACK_EAB_HMAC_KEY=" + requireEnv("DNSH_TEST_EAB_HMAC_KEY") + "\n";
    return dir.write("cas.env", text);
}

// A budget this case starts full: the bucket of the first CA's URL is shared by the whole run.
void resetBudget() {
    execute("DELETE FROM ca_order_budgets WHERE directory_url = " + quoted(primaryCa()));
}

// The first CA's budget as `orders` per hour with none left now, as if just spent.
void spendBudgetPerHour(int orders) {
    resetBudget();
    execute("INSERT INTO ca_order_budgets (directory_url, capacity, period_ms, tokens, "
            "computed_at, empty_since) VALUES (" + quoted(primaryCa()) + ", " +
            std::to_string(orders) + ", 3600000, 0, now(), now())");
}

// The CA file with the second CA only.
std::string fallbackOnlyFile(const TempDir& dir) {
    return dir.write("fallback.env",
                     "ACME_CAS=fallback\n"
                     "ACME_CA_FALLBACK_DIRECTORY=" + fallbackCa() + "\n"
                     "ACME_CA_FALLBACK_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
                     "ACME_CA_FALLBACK_PROFILE=default\n"
                     "ACME_CA_FALLBACK_EAB_KID=" + requireEnv("DNSH_TEST_EAB_KID") + "\n"
                     "ACME_CA_FALLBACK_EAB_HMAC_KEY=" + requireEnv("DNSH_TEST_EAB_HMAC_KEY") +
                         "\n");
}

// issue-certificate for every domain at once, alternately through two lighttpds of their own
// (two sets of handler processes sharing the budget through PostgreSQL).
std::vector<HttpResult> issueAllAtOnce(const std::vector<TestDomain>& domains, const ApiServer& a,
                                       const ApiServer& b) {
    std::vector<HttpResult> results(domains.size());
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < domains.size(); ++i)
        threads.emplace_back([&, i] {
            while (!go) std::this_thread::yield();
            try {
                results[i] = issueAt(i % 2 == 0 ? a : b, domains[i]);
            } catch (const std::exception& e) {
                results[i].body = e.what();
            }
        });
    go = true;
    for (auto& thread : threads) thread.join();
    return results;
}

// Orders in the database of `domains` placed at `ca`.
long long ordersAt(const std::vector<TestDomain>& domains, const std::string& ca) {
    return count("SELECT count(*) FROM acme_orders o JOIN acme_accounts a ON a.id = o.account_id "
                 "WHERE a.directory_url = " + quoted(ca) + " AND o.domain_id IN (" +
                 idList(domains) + ")");
}

}  // namespace

TEST_CASE("several CAs: the first CA down, issuance and renewal go to the second, and back, renewals return to it") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-down", leftovers);
    const ApiServer api("several-cas", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));

    StoppableService first("pebble");
    first.stop();
    const std::string value = issuedAt(api, domain);  // 202: the fallback took it
    publish(domain, value);
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    // The fallback requires EAB: our account there was bound with the key of the CA file.
    CHECK(count("SELECT count(*) FROM acme_accounts WHERE account_url IS NOT NULL AND "
                "directory_url = " + quoted(fallbackCa())) == 1);

    // Renewal while the first CA is still down: the second again.
    CHECK(renewed(domain, *scheduler) == fallbackCa());

    // The first CA back (it forgot every account: ours is registered again): the next renewal
    // starts from it.
    first.start();
    CHECK(renewed(domain, *scheduler) == primaryCa());
    CHECK(certificateCa(domain) == primaryCa());
}

TEST_CASE("several CAs: CAA that allows only the second CA sends the order there, none to the first") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-caa", leftovers);
    records.caa(domain.name, "issue", requireEnv("ACME_CAA_IDENTITY_EAB"));
    const ApiServer api("several-cas-caa", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));

    const int atFirst = ordersAtTheCa();
    const int atSecond = ordersAtTheCa("pebble-eab.log");
    publish(domain, issuedAt(api, domain));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    CHECK(ordersAtTheCa() == atFirst);
    CHECK(ordersAtTheCa("pebble-eab.log") == atSecond + 1);
}

TEST_CASE("several CAs: a SERVFAIL at _validation-persist leaves the first CA (CAA: dns-persist-01 only) undecided and the second, whose CAA allows dns-01, takes the order") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-persist-servfail", leftovers);
    records.caa(domain.name, "issue", "pebble.letsencrypt.org; validationmethods=dns-persist-01");
    records.caa(domain.name, "issue", requireEnv("ACME_CAA_IDENTITY_EAB"));
    records.servfail("_validation-persist." + domain.name);
    const ApiServer api("several-cas-persist-servfail", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));

    const int atFirst = ordersAtTheCa();
    const HttpResult started = issueAt(api, domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-01");
    publish(domain, started.jsonString("expected_txt_value"));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    CHECK(ordersAtTheCa() == atFirst);
}

TEST_CASE("several CAs: a SERVFAIL at _validation-persist where the one CA CAA names allows only dns-persist-01: 424 dns_servfail, not caa_forbidden") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-persist-servfail-one", leftovers);
    records.caa(domain.name, "issue", "pebble.letsencrypt.org; validationmethods=dns-persist-01");
    records.servfail("_validation-persist." + domain.name);
    const ApiServer api("several-cas-persist-servfail-one", severalCas(file));

    const HttpResult failed = issueAt(api, domain);
    INFO("issue-certificate: " << failed.body);
    // The second CA's CAA forbids it; the first's record may answer later: ask again.
    CHECK(failed.status == 424);
    CHECK(failed.jsonString("error_code") == "dns_servfail");
    CHECK(failed.retryAfterSeconds() >= 1);
    CHECK(failed.jsonString("error").find("dns-persist-01 lookup for " + domain.name) !=
          std::string::npos);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE("several CAs: none can take the order: 502 no_ca_available naming each, domain unchanged") {
    Leftovers leftovers;
    TempDir dir;
    // A wrong EAB key (right length, other bytes): the fallback refuses our account.
    const std::string file = caFile(dir, "bm90LXRoZS1rZXktdGhlLWNhLWdhdmUtdXMtYXQtYWxs");
    const TestDomain domain = verifiedDomain("twoca-none", leftovers);
    const ApiServer api("several-cas-none", severalCas(file));
    // The second CA restarted: it forgets our account, which is registered again, with this key.
    StoppableService second("pebble-eab");
    second.stop();
    second.start();

    StoppableService first("pebble");
    first.stop();
    const HttpResult refused = issueAt(api, domain);
    INFO("body: " << refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "no_ca_available");
    CHECK(refused.retryAfterSeconds() >= 1);
    const std::string error = refused.jsonString("error");
    CHECK(error.find(primaryCa() + ": ca_unreachable") != std::string::npos);
    CHECK(error.find(fallbackCa() + ": ca_account") != std::string::npos);
    CHECK(error.find("External Account Binding key id " + requireEnv("DNSH_TEST_EAB_KID")) !=
          std::string::npos);
    CHECK(error.find("bm90LXRoZS1rZXkt") == std::string::npos);  // the key is never shown
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE("several CAs: one CA that requires EAB and has none configured: a clear error naming it") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = dir.write(
        "cas.env", "ACME_CAS=eab_only\n"
                   "ACME_CA_EAB_ONLY_DIRECTORY=" + fallbackCa() + "\n"
                   "ACME_CA_EAB_ONLY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n");
    const TestDomain domain = verifiedDomain("eab-missing", leftovers);
    const ApiServer api("eab-missing", severalCas(file));
    StoppableService restarted("pebble-eab");  // forgets our account: registered again, no key
    restarted.stop();
    restarted.start();
    const HttpResult refused = issueAt(api, domain);
    INFO("body: " << refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_account");
    CHECK(refused.jsonString("error").find(fallbackCa() + " requires External Account Binding") !=
          std::string::npos);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}

TEST_CASE("order budget: 20 orders at once with 5 a minute at the first CA, the other 15 at the second") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = budgetFile(dir, "5/1m", true);
    resetBudget();
    std::vector<TestDomain> domains;
    for (int i = 0; i < 20; ++i) domains.push_back(verifiedDomain("budget-two", leftovers));
    const ApiServer a("budget-a", severalCas(file));
    const ApiServer b("budget-b", severalCas(file));

    const std::vector<HttpResult> results = issueAllAtOnce(domains, a, b);
    int accepted = 0;
    for (const auto& result : results) {
        if (result.status == 202) ++accepted;
        else MESSAGE("refused: " << result.status << " " << result.body);
    }
    CHECK(accepted == 20);
    CHECK(ordersAt(domains, primaryCa()) == 5);
    CHECK(ordersAt(domains, fallbackCa()) == 15);
}

TEST_CASE("order budget: one CA with its budget spent answers 429 with Retry-After, the domain unchanged") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = budgetFile(dir, "5/1m", false);
    resetBudget();
    std::vector<TestDomain> domains;
    for (int i = 0; i < 20; ++i) domains.push_back(verifiedDomain("budget-one", leftovers));
    const ApiServer a("budget-one-a", severalCas(file));
    const ApiServer b("budget-one-b", severalCas(file));

    const int atTheCa = ordersAtTheCa();
    const std::vector<HttpResult> results = issueAllAtOnce(domains, a, b);
    int accepted = 0, limited = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const HttpResult& result = results[i];
        if (result.status == 202) {
            ++accepted;
            continue;
        }
        INFO("answer: " << result.status << " " << result.body);
        CHECK(result.status == 429);
        CHECK(result.jsonString("error_code") == "ca_rate_limited");
        CHECK(result.jsonString("error").find("order budget there (5/1m) is spent") !=
              std::string::npos);
        // One token back every 12 s.
        CHECK(result.retryAfterSeconds() >= 1);
        CHECK(result.retryAfterSeconds() <= 12);
        CHECK(scalar("SELECT status FROM domains WHERE id = " + dnsh::test::quoted(domains[i].id)) ==
              "verified");
        if (result.status == 429) ++limited;
    }
    CHECK(accepted == 5);
    CHECK(limited == 15);
    CHECK(ordersAtTheCa() - atTheCa == 5);
}

TEST_CASE("order budget: a renewal sent with ARI replaces spends none of it") {
    Leftovers leftovers;
    TempDir dir;
    // One order an hour at the first CA: the issuance spends it; the renewal (with `replaces`,
    // the first CA offers ARI) still goes there, not to the second.
    const std::string file = budgetFile(dir, "1/1h", true);
    resetBudget();
    const TestDomain domain = verifiedDomain("budget-ari", leftovers);
    const ApiServer api("budget-ari", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));
    publish(domain, issuedAt(api, domain));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == primaryCa());
    CHECK(count("SELECT count(*) FROM ca_order_budgets WHERE tokens < 1 AND directory_url = " +
                quoted(primaryCa())) == 1);

    // Spent, and still the first CA: the renewal was exempt (without the exemption it went to
    // the second).
    CHECK(renewed(domain, *scheduler) == primaryCa());
    // A second domain's new order finds the budget spent: it goes to the second CA.
    const TestDomain other = verifiedDomain("budget-ari-new", leftovers);
    publish(other, issuedAt(api, other));
    requireAllActive({other}, 40s);
    CHECK(certificateCa(other) == fallbackCa());
}

TEST_CASE("order budget: a renewal the first CA refuses as alreadyReplaced needs a token there "
          "to be ordered again without replaces: none left, it goes to the second") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = budgetFile(dir, "1/1h", true);
    resetBudget();
    const TestDomain domain = verifiedDomain("budget-replaced", leftovers);
    const ApiServer api("budget-replaced", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));
    publish(domain, issuedAt(api, domain));
    requireAllActive({domain}, 40s);
    REQUIRE(certificateCa(domain) == primaryCa());
    const std::string first = scalar("SELECT id FROM certificates WHERE superseded_at IS NULL "
                                     "AND domain_id = " + quoted(domain.id));
    // Renewed with replaces = first (exempt from the budget): the first CA now holds `first` as
    // replaced (tests/e2e/ari_test.cpp).
    REQUIRE(renewed(domain, *scheduler) == primaryCa());

    // A second renewal of `first`, as after a database restored to before the first one, with
    // the first CA's budget spent: its newOrder with replaces is refused as alreadyReplaced, and
    // the one without replaces that follows is counted by the CA like any other.
    spendBudgetPerHour(1);
    execute("INSERT INTO acme_orders (id, domain_id, kind, step, replaces_certificate_id, "
            "next_attempt_at) VALUES (replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'renewal', 'place_order', " + quoted(first) + ", now())");
    const std::string placedAt =
        "SELECT coalesce(max(a.directory_url), '') FROM acme_orders o JOIN acme_accounts a ON "
        "a.id = o.account_id WHERE o.status = 'pending' AND o.replaces_certificate_id = " +
        quoted(first) + " AND o.domain_id = " + quoted(domain.id);
    std::string ca;
    REQUIRE_MESSAGE(waitFor(20s, [&] { return !(ca = scalar(placedAt)).empty(); }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    INFO(scheduler->log());
    CHECK(scheduler->log().find("already replaced; ordering without replaces") !=
          std::string::npos);
    // Before: placed at the first CA without replaces, no token spent (none was left), so past
    // the budget the CA's own rate limit counts.
    REQUIRE(ca == fallbackCa());
    CHECK(count("SELECT count(*) FROM ca_order_budgets WHERE tokens < 1 AND directory_url = " +
                quoted(primaryCa())) == 1);
    // The order completes at the second CA.
    const std::string value = scalar(
        "SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.status = 'pending' AND o.replaces_certificate_id = " + quoted(first) +
        " AND o.domain_id = " + quoted(domain.id) + " LIMIT 1");
    publish(domain, value);
    CHECK(waitFor(40s, [&] {
        return scalar("SELECT ca FROM certificates WHERE domain_id = " + quoted(domain.id) +
                      " ORDER BY created_at DESC LIMIT 1") == fallbackCa();
    }));
    resetBudget();
}

TEST_CASE("order budget: a renewal at one CA with its budget spent waits until an order is back") {
    Leftovers leftovers;
    TempDir dir;
    const TestDomain domain = verifiedDomain("budget-renew-wait", leftovers);
    // Issued at the second CA: a renewal at the first names no certificate that CA issued (no
    // `replaces`), so it needs the first CA's budget.
    {
        const std::string second = fallbackOnlyFile(dir);
        const ApiServer api("budget-renew-wait", severalCas(second));
        const auto scheduler = startScheduler(severalCas(second));
        publish(domain, issuedAt(api, domain));
        requireAllActive({domain}, 40s);
        CHECK(scheduler->terminate() == 0);
    }
    REQUIRE(certificateCa(domain) == fallbackCa());

    // The first CA alone, one order an hour there and none left.
    spendBudgetPerHour(1);
    const auto scheduler = startScheduler(severalCas(budgetFile(dir, "1/1h", false)));
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));
    const std::string renewal = "FROM acme_orders WHERE kind = 'renewal' AND domain_id = " +
                                quoted(domain.id);
    // Tried once, refused by the budget, given back until its next attempt.
    REQUIRE_MESSAGE(waitFor(20s, [&] {
                        return count("SELECT count(*) " + renewal + " AND attempts >= 1 AND "
                                     "lease_owner IS NULL AND next_attempt_at IS NOT NULL") == 1;
                    }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    // The next attempt when an order is back (an hour), not POLL_INTERVAL's backoff (200 ms,
    // doubling: a retry every few seconds that the budget refuses each time).
    const long long waitS =
        count("SELECT extract(epoch FROM next_attempt_at - now())::bigint " + renewal);
    INFO("next attempt in " << waitS << " s\n" << scheduler->log());
    CHECK(waitS > 3500);
    CHECK(waitS <= 3600);
    CHECK(count("SELECT attempts " + renewal) == 1);
    CHECK(scheduler->log().find("order budget there (1/1h) is spent") != std::string::npos);
    // The customer keeps the certificate meanwhile.
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    resetBudget();
}

TEST_CASE("order budget: two schedulers renewing at once share it: 2 an hour at the first CA, the rest at the second") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = budgetFile(dir, "2/1h", true);
    const ApiServer api("budget-schedulers", severalCas(file));
    std::vector<TestDomain> domains;
    for (int i = 0; i < 6; ++i) domains.push_back(verifiedDomain("budget-sched", leftovers));
    const auto first = startScheduler(severalCas(file));
    const auto second = startScheduler(severalCas(file));

    // Issued at the second CA while the first is down.
    {
        StoppableService down("pebble");
        down.stop();
        for (const auto& domain : domains) publish(domain, issuedAt(api, domain));
        requireAllActive(domains, 60s);
    }
    for (const auto& domain : domains) REQUIRE(certificateCa(domain) == fallbackCa());

    // Renewals start from the first CA again; there they name no certificate it issued (no
    // `replaces`), so each spends its budget: 2 go there, 4 back to the second (with `replaces`).
    resetBudget();
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND domain_id IN (" +
            idList(domains) + ")");
    const std::string pendingRenewals =
        "SELECT o.domain_id, c.txt_value FROM acme_challenges c JOIN acme_orders o ON "
        "o.id = c.order_id WHERE o.kind = 'renewal' AND o.status = 'pending' AND o.domain_id IN (" +
        idList(domains) + ")";
    REQUIRE_MESSAGE(waitFor(30s, [&] {
                        return count("SELECT count(*) FROM (" + pendingRenewals + ") r") == 6;
                    }),
                    statusSummary(domains));
    for (const auto& domain : domains)
        publish(domain, scalar("SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON "
                               "o.id = c.order_id WHERE o.kind = 'renewal' AND o.status = "
                               "'pending' AND o.domain_id = " + quoted(domain.id)));
    const std::string renewedCount =
        "SELECT count(*) FROM certificates WHERE superseded_at IS NULL AND order_id IN (SELECT id "
        "FROM acme_orders WHERE kind = 'renewal' AND domain_id IN (" + idList(domains) + "))";
    REQUIRE_MESSAGE(waitFor(60s, [&] { return count(renewedCount) == 6; }), statusSummary(domains));
    const auto renewedAt = [&](const std::string& ca) {
        return count("SELECT count(*) FROM certificates WHERE superseded_at IS NULL AND ca = " +
                     quoted(ca) + " AND domain_id IN (" + idList(domains) + ")");
    };
    CHECK(renewedAt(primaryCa()) == 2);
    CHECK(renewedAt(fallbackCa()) == 4);
}

TEST_CASE("several CAs: a renewal no CA can take waits, the certificate kept, and says why") {
    Leftovers leftovers;
    TempDir goodDir;
    const std::string good = caFile(goodDir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-renew-none", leftovers);
    const ApiServer api("several-cas-renew-none", severalCas(good));
    {
        const auto scheduler = startScheduler(severalCas(good));
        publish(domain, issuedAt(api, domain));
        requireAllActive({domain}, 40s);
        CHECK(scheduler->terminate() == 0);
    }
    const std::string current = "SELECT id FROM certificates WHERE superseded_at IS NULL AND "
                                "domain_id = " + quoted(domain.id);
    const std::string certificate = scalar(current);

    // The first CA down, and the second (restarted: it forgot our account) refusing the key.
    TempDir wrongDir;
    const std::string wrong = caFile(wrongDir, "bm90LXRoZS1rZXktdGhlLWNhLWdhdmUtdXMtYXQtYWxs");
    StoppableService second("pebble-eab");
    second.stop();
    second.start();
    StoppableService first("pebble");
    first.stop();
    Env env = severalCas(wrong);
    env["POLL_TIMEOUT"] = "3s";
    const auto scheduler = startScheduler(env);
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));

    HttpResult view;
    const auto renewalFailed = [&] {
        view = get("/domains/" + domain.id);
        const auto renewal = view.json()->getObject("renewal");
        return renewal && renewal->optValue<std::string>("error_code", "") == "no_ca_available";
    };
    REQUIRE_MESSAGE(waitFor(40s, renewalFailed), view.body << "\n" << describe(*scheduler));
    INFO("view: " << view.body);
    // The customer keeps the certificate: still active, the same one served.
    CHECK(view.jsonString("status") == "active");
    CHECK(scalar(current) == certificate);
    const std::string error = view.json()->getObject("renewal")->getValue<std::string>("error");
    CHECK(error.find(primaryCa() + ": ca_unreachable") != std::string::npos);
    CHECK(error.find(fallbackCa() + ": ca_account") != std::string::npos);
    CHECK(error.find("bm90LXRoZS1rZXkt") == std::string::npos);
    // It waited before it gave up: each retry logged with why.
    const std::string log = scheduler->log();
    CHECK(log.find("no CA could take the order") != std::string::npos);
    // It is renewed again later (the renewal backoff), not dropped.
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at > now() AND id = " +
                quoted(certificate)) == 1);
}

TEST_CASE("several CAs: persist gives one record per CA at one name, and an order at the second CA is answered with its own") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-persist", leftovers);
    const ApiServer api("several-cas-persist", severalCas(file));
    // The scheduler confirms our account at each CA (EAB-bound at the second) when it starts.
    const auto scheduler = startScheduler(severalCas(file));

    const std::string accountAt =
        "SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE persist_issuer IS NOT "
        "NULL AND directory_url = ";
    // Both confirmed (onlyReturnExisting), or registered again where an earlier case restarted
    // a Pebble, which then forgot us: the URLs stored are the ones the CAs know.
    const auto registeredAtBoth = [&] {
        const std::string log = scheduler->log();
        std::size_t lines = 0;
        for (const char* line : {"acme account registered", "acme account confirmed"})
            for (std::size_t at = log.find(line); at != std::string::npos;
                 at = log.find(line, at + 1))
                ++lines;
        return lines >= 2;
    };
    REQUIRE_MESSAGE(waitFor(15s, registeredAtBoth), describe(*scheduler));
    const std::string expectedFirst =
        "pebble.letsencrypt.org; accounturi=" + scalar(accountAt + quoted(primaryCa()));
    const std::string expectedSecond = requireEnv("ACME_CAA_IDENTITY_EAB") +
                                       "; accounturi=" + scalar(accountAt + quoted(fallbackCa()));
    HttpRequest viewRequest;
    viewRequest.path = "/domains/" + domain.id;
    HttpResult view;
    const auto bothOffered = [&] {
        view = send(api.baseUrl(), viewRequest);
        const auto persist = view.json()->getArray("persist");
        return persist && persist->size() == 2 &&
               persist->getObject(0)->getValue<std::string>("record_value") == expectedFirst &&
               persist->getObject(1)->getValue<std::string>("record_value") == expectedSecond;
    };
    REQUIRE_MESSAGE(waitFor(15s, bothOffered), view.body);
    const auto persist = view.json()->getArray("persist");
    CHECK(persist->getObject(0)->getValue<std::string>("ca") == primaryCa());
    CHECK(persist->getObject(1)->getValue<std::string>("ca") == fallbackCa());
    const std::string recordName = "_validation-persist." + domain.name;
    CHECK(persist->getObject(1)->getValue<std::string>("record_name") == recordName);

    // Both values at the one name, as the customer is told; the first CA down.
    records.txt(recordName, expectedFirst);
    records.txt(recordName, expectedSecond);
    StoppableService first("pebble");
    first.stop();
    const HttpResult started = issueAt(api, domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "dns-persist-01");
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE o.domain_id = " + quoted(domain.id) + " AND c.method = 'dns-01'") == 0);
}

TEST_CASE("several CAs: the first CA would need dns-01 and the customer's dns-persist-01 record "
          "is for the second: issuance and renewal go to the second, nothing asked at "
          "_acme-challenge") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    // The first CA offers dns-01 alone and lists no caaIdentities (no `persist` record to give
    // for it); the second is the stack's Pebble, which offers dns-persist-01.
    StalledCa first({"--stall", "none", "--dns01-only"});
    const std::string file = twoCaFile(dir, first.directory(), primaryCa());
    const TestDomain domain = verifiedDomain("twoca-persist-second", leftovers);
    Env apiEnv = severalCas(file);
    apiEnv["LOG_LEVEL"] = "info";  // the line saying why the order went to the second CA
    const ApiServer api("several-cas-persist-second", apiEnv);
    // The scheduler confirms our account at Pebble (or registers it again, where an earlier case
    // restarted it) when it starts: the record then names the URL Pebble knows.
    const auto scheduler = startScheduler(severalCas(file));
    const auto confirmedAtPebble = [&] {
        const std::string log = scheduler->log();
        return log.find("acme account registered") != std::string::npos ||
               log.find("acme account confirmed") != std::string::npos;
    };
    REQUIRE_MESSAGE(waitFor(15s, confirmedAtPebble), describe(*scheduler));
    const std::string accountAtPebble =
        "SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE persist_issuer IS NOT "
        "NULL AND directory_url = " + quoted(primaryCa());
    REQUIRE_MESSAGE(waitFor(15s, [&] { return !scalar(accountAtPebble).empty(); }),
                    describe(*scheduler));
    const std::string expected = "pebble.letsencrypt.org; accounturi=" + scalar(accountAtPebble);

    // What the customer is told to publish: one record, for the second CA alone.
    HttpRequest viewRequest;
    viewRequest.path = "/domains/" + domain.id;
    HttpResult view;
    const auto offeredForSecondOnly = [&] {
        view = send(api.baseUrl(), viewRequest);
        const auto persist = view.json()->getArray("persist");
        return persist && persist->size() == 1 &&
               persist->getObject(0)->getValue<std::string>("ca") == primaryCa() &&
               persist->getObject(0)->getValue<std::string>("record_value") == expected;
    };
    REQUIRE_MESSAGE(waitFor(15s, offeredForSecondOnly), view.body);
    // Published once, as told; the verification token gone: nothing at _acme-challenge.
    records.txt("_validation-persist." + domain.name, expected);
    clearTxt(domain.challengeName());
    clearDnsQuestions(domain.challengeName());

    const HttpResult started = issueAt(api, domain);
    INFO("issue-certificate: " << started.body << "\nstand-in: " << describe(first.process()));
    REQUIRE(started.status == 202);
    // Before: the first CA took the order (1 newOrder there) with dns-01, and the domain waited
    // in certificate_pending for a value the customer never publishes.
    CHECK(first.requests("POST", "/order-plz") == 0);
    REQUIRE(started.jsonString("validation_method") == "dns-persist-01");
    CHECK(started.json()->getArray("challenges")->size() == 0);
    CHECK(waitFor(5s, [&] {
        return readFile(api.handlersLog()).find("a later CA tried first") != std::string::npos;
    }));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == primaryCa());

    // The renewal (the scheduler's placement) goes there again, with the same record.
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));
    REQUIRE_MESSAGE(waitFor(40s, [&] { return certificatesOf(domain) == 2; }),
                    statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(scalar("SELECT ca FROM certificates WHERE domain_id = " + quoted(domain.id) +
                 " ORDER BY created_at DESC LIMIT 1") == primaryCa());
    CHECK(scheduler->log().find("a later CA tried first") != std::string::npos);
    CHECK(first.requests("POST", "/order-plz") == 0);
    const HttpResult renewed = get("/domains/" + domain.id);
    INFO("view: " << renewed.body);
    CHECK(renewed.jsonString("status") == "active");
    CHECK(renewed.jsonString("validation_method") == "dns-persist-01");
    CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE o.domain_id = " + quoted(domain.id) + " AND c.method = 'dns-01'") == 0);
    // Nobody looked for a dns-01 value.
    CHECK(dnsQuestionTypes(domain.challengeName()).empty());
}

TEST_CASE("several CAs: a scheduler without the order's CA retries it as a CA that did not "
          "answer, and one that has the CA issues it") {
    Leftovers leftovers;
    TempDir dir;
    // A rolling restart adding the second CA: an API host already restarted (the second CA
    // alone here) places the order there; a scheduler not restarted yet has the first CA alone
    // (the stack's ACME_DIRECTORY).
    const TestDomain domain = verifiedDomain("twoca-replicas", leftovers);
    const ApiServer api("several-cas-replicas", severalCas(fallbackOnlyFile(dir)));
    publish(domain, issuedAt(api, domain));
    REQUIRE(ordersAt({domain}, fallbackCa()) == 1);
    const std::string order = "FROM acme_orders WHERE domain_id = " + quoted(domain.id);
    const std::string domainStatus = "SELECT status FROM domains WHERE id = " + quoted(domain.id);
    const auto old = startScheduler();

    // Claimed (the values are visible: the CA is needed next) and retried more times than the
    // 3 unexpected errors that failed the order before (kMaxUnexpectedAttempts), or failed.
    const auto settled = [&] {
        return count("SELECT attempts " + order) >= 5 || scalar(domainStatus) == "failed";
    };
    REQUIRE_MESSAGE(waitFor(30s, settled), statusSummary({domain}) << "\n" << describe(*old));
    INFO(statusSummary({domain}) << "\n" << describe(*old));
    // Before: the domain failed after 3 claims, attempts 3, reason "internal error: the
    // order's CA ... is no longer configured" (certificate.failed).
    CHECK(scalar(domainStatus) == "certificate_pending");
    CHECK(scalar("SELECT status " + order) == "pending");
    CHECK(old->log().find("\"msg\":\"order step will be retried\"") != std::string::npos);
    CHECK(old->log().find("is not configured (ACME_CAS) on any scheduler") != std::string::npos);
    CHECK(old->terminate() == 0);

    // That scheduler restarted with both CAs: it finishes the order at the second.
    const auto updated =
        startScheduler(severalCas(caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"))));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
}

TEST_CASE("several CAs: a scheduler without DELEGATION_ZONE leaves a delegated domain's renewal "
          "to one that has it, placing nothing, and that one renews it delegated") {
    Leftovers leftovers;
    SandboxRecords dns;
    // A rolling restart turning DELEGATION_ZONE on: the domain's CNAME was seen and its
    // certificate issued delegated where the zone is (the CA that follows the CNAME through
    // Unbound into the zone).
    const Delegated delegated = delegatedDomain("zone-replicas", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    {
        const auto scheduler = startScheduler(delegationScheduler());
        const HttpResult started = issueThroughUnboundCa(domain);
        REQUIRE_MESSAGE(started.status == 202, started.body);
        REQUIRE(started.json()->getValue<bool>("delegated"));
        requireAllActive({domain}, 30s);
        CHECK(scheduler->terminate() == 0);
    }
    const std::string renewal =
        "FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id);
    // Every renewal.status the view showed: never one waiting for the customer.
    std::set<std::string> renewalStatuses;
    const auto noteRenewalStatus = [&] {
        const auto view = get("/domains/" + domain.id).json();
        if (const auto state = view->getObject("renewal"))
            renewalStatuses.insert(state->getValue<std::string>("status"));
    };

    // Its renewal due, and a scheduler not restarted yet, without the zone, takes it first.
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND "
            "domain_id = " + quoted(domain.id));
    const auto old = startScheduler(delegationScheduler({{"DELEGATION_ZONE", ""}}));
    const auto settled = [&] {
        noteRenewalStatus();
        return count("SELECT count(*) " + renewal +
                     " AND (attempts >= 3 OR order_url IS NOT NULL OR status <> 'pending')") ==
               1;
    };
    REQUIRE_MESSAGE(waitFor(30s, settled), statusSummary({domain}) << "\n" << describe(*old));
    INFO(statusSummary({domain}) << "\n" << describe(*old));
    // Before: placed at once undelegated (order_url set, delegated false, step await_dns), its
    // dns-01 value for the customer to publish by hand (renewal.status awaiting_dns).
    CHECK(count("SELECT count(*) " + renewal +
                " AND status = 'pending' AND step = 'place_order' AND order_url IS NULL") == 1);
    CHECK(count("SELECT count(*) " + renewal + " AND delegated") == 1);
    CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE o.kind = 'renewal' AND o.domain_id = " + quoted(domain.id)) == 0);
    CHECK(renewalStatuses.count("awaiting_dns") == 0);
    CHECK(old->log().find("\"msg\":\"order step will be retried\"") != std::string::npos);
    CHECK(old->log().find("DELEGATION_ZONE is not configured on any scheduler") !=
          std::string::npos);
    CHECK(old->terminate() == 0);

    // That scheduler restarted with the zone: the same renewal, delegated, nothing published by
    // the customer.
    const auto restarted = startScheduler(delegationScheduler());
    REQUIRE_MESSAGE(waitFor(40s,
                            [&] {
                                noteRenewalStatus();
                                return certificatesOf(domain) == 2;
                            }),
                    statusSummary({domain}) << "\n" << describe(*restarted));
    CHECK(renewalStatuses.count("awaiting_dns") == 0);
    CHECK(count("SELECT count(*) " + renewal) == 1);
    CHECK(count("SELECT count(*) " + renewal + " AND status = 'valid' AND delegated") == 1);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    CHECK(restarted->terminate() == 0);
}

TEST_CASE("several CAs: issue-certificate on an API host without DELEGATION_ZONE places a "
          "delegated domain's order delegated, and a scheduler with the zone issues it") {
    Leftovers leftovers;
    SandboxRecords dns;
    // A rolling restart turning DELEGATION_ZONE on: the domain verified by its CNAME where the
    // zone is, its issue-certificate answered by a host not restarted yet.
    const Delegated delegated = delegatedDomain("zone-api", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    const HttpResult started = issueThroughUnboundCa(domain, {{"DELEGATION_ZONE", ""}});
    REQUIRE_MESSAGE(started.status == 202, started.body);
    // Before: delegated false, and the customer told to publish a TXT value at the name their
    // CNAME holds.
    CHECK(started.json()->getValue<bool>("delegated"));
    CHECK(started.body.find("Update the TXT record") == std::string::npos);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'issue' AND delegated AND "
                "domain_id = " + quoted(domain.id)) == 1);
    const auto scheduler = startScheduler(delegationScheduler());
    requireAllActive({domain}, 30s);
    CHECK(scheduler->terminate() == 0);
}
