// Orders at the CA that nobody waits for (README "How issuance and renewal work"): at most one
// live CA order per domain, whatever the number of concurrent issue-certificate calls (the claim
// in the database comes first, the CA call after); a failed order's authorizations deactivated at
// the CA (RFC 8555 §7.5.2); and a failed domain retried only after a backoff (429, Retry-After).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "acme/client.hpp"
#include "acme/status.hpp"
#include "acme/transport.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {


// The authorization's status as the CA says it, asked with the service's own account
// (POST-as-GET, RFC 8555 §7.5).
std::string authorizationStatus(const std::string& url) {
    const std::string directory = requireEnv("ACME_DIRECTORY");
    const std::string where = " FROM acme_accounts WHERE directory_url = " + quoted(directory);
    const dnsh::KeyEncryptor kek =
        dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const dnsh::Pkey key =
        dnsh::privateKeyFromPem(kek.decrypt(scalar("SELECT key_ciphertext" + where)));
    dnsh::acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), 10s);
    dnsh::acme::Client client(transport, directory);
    client.useAccount(key.get(), scalar("SELECT account_url" + where));
    return std::string(dnsh::acme::toString(client.getAuthorization(url).status));
}


}  // namespace

TEST_CASE(
    "issue claims: 50 concurrent issue-certificate calls place exactly one order at the CA, "
    "one 202 and 409 for the others") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("issue-race", leftovers);
    constexpr int kCalls = 50;
    std::vector<HttpResult> results(kCalls);
    std::vector<std::string> errors(kCalls);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    const int ordersBefore = ordersAtTheCa();
    for (int i = 0; i < kCalls; ++i)
        threads.emplace_back([&, i] {
            while (!go) std::this_thread::yield();
            try {
                results[static_cast<std::size_t>(i)] = issueCertificate(domain);
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(i)] = e.what();
            }
        });
    go = true;
    for (auto& thread : threads) thread.join();
    const int ordersPlaced = ordersAtTheCa() - ordersBefore;

    std::map<int, int> statuses;
    std::string orderId, refusal;
    int failedCalls = 0, unclear = 0;
    for (int i = 0; i < kCalls; ++i) {
        const auto& result = results[static_cast<std::size_t>(i)];
        if (!errors[static_cast<std::size_t>(i)].empty()) ++failedCalls;
        ++statuses[result.status];
        if (result.status == 202) orderId = result.jsonString("order_id");
        if (result.status != 202 && refusal.empty()) refusal = result.body;
        if (result.status == 409 && result.jsonString("error").find("already") == std::string::npos)
            ++unclear;
    }
    std::string summary;
    for (const auto& [status, calls] : statuses)
        summary += std::to_string(status) + ": " + std::to_string(calls) + " ";
    MESSAGE("orders placed at the CA: " << ordersPlaced << "; answers " << summary
                                        << "; a refusal: " << refusal);
    CHECK(failedCalls == 0);
    CHECK(ordersPlaced == 1);
    CHECK(statuses[202] == 1);
    CHECK(statuses[409] == kCalls - 1);
    CHECK(unclear == 0);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 1);
    CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE o.domain_id = " +
                quoted(domain.id)) == 1);
    CHECK(scalar("SELECT id FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == orderId);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
}

TEST_CASE(
    "issue claims: a failed order's authorizations are deactivated at the CA, and a failed "
    "domain retried at once gets 429 with Retry-After") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("issue-backoff", leftovers);
    startIssuance(domain);  // the verification token stays at the name: never found
    {
        // The failure's backoff (issue_retry_at, written by the scheduler) 6 s, not the stack's
        // 2 s: the checks below, the CA asked about the authorization among them, must come
        // within it on a loaded machine.
        const auto scheduler =
            startScheduler({{"POLL_TIMEOUT", "2s"}, {"ISSUE_RETRY_BACKOFF", "6s"}});
        REQUIRE_MESSAGE(waitFor(15s,
                                [&] {
                                    return scalar("SELECT status FROM domains WHERE id = " +
                                                  quoted(domain.id)) == "failed";
                                }),
                        statusSummary({domain}));
        CHECK(scheduler->terminate() == 0);
    }
    // RFC 8555 §7.5.2: the order nobody will finish gives its authorization back.
    const std::string authorization = scalar(
        "SELECT c.authorization_url FROM acme_challenges c JOIN acme_orders o ON "
        "o.id = c.order_id WHERE o.domain_id = " +
        quoted(domain.id));
    REQUIRE_FALSE(authorization.empty());
    CHECK(authorizationStatus(authorization) == "deactivated");

    // Retried at once: too soon, and nothing reaches the CA.
    const int ordersBefore = ordersAtTheCa();
    const HttpResult tooSoon = issueCertificate(domain);
    CAPTURE(tooSoon.body);
    CHECK(tooSoon.status == 429);
    const long long wait = tooSoon.retryAfterSeconds();
    CHECK(wait >= 1);
    CHECK(wait <= 6);  // the scheduler's ISSUE_RETRY_BACKOFF, first failure
    CHECK(tooSoon.jsonString("error").find("retry") != std::string::npos);
    CHECK(ordersAtTheCa() == ordersBefore);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "failed");

    // Once the backoff has passed: a fresh order.
    std::this_thread::sleep_for(std::chrono::seconds(std::max(wait, 1LL)));
    const HttpResult retried = issueCertificate(domain);
    CHECK_MESSAGE(retried.status == 202, retried.body);
    CHECK(ordersAtTheCa() == ordersBefore + 1);
}
