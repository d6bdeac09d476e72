// issue-certificate's CAA precheck has one bound for its DNS (issue_start.cpp, twice
// DNS_TIMEOUT): the walk asks once per label up to the TLD (RFC 8659 §3), so a customer's deep
// name behind a slow nameserver, each answer in time, held an issue handler for the labels times
// the delay (about 10 minutes for ~115 labels at 5 s), past the 5-minute issue claim. Now the
// call answers 424 dns_timeout with Retry-After once the bound is spent, before any order, the
// domain as it was. The slow DNS is a played server (tests/support/fake_nameservers) standing in
// as the API's DNS_RESOLVER: NOERROR without records to every question, CAA after a delay.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kCaaAnswerDelay = 400ms;  // each CAA answer, well within DNS_TIMEOUT (1 s)
constexpr int kExtraLabels = 40;         // "a." times this: 43 names to walk, 17 s at 400 ms
constexpr double kBoundSeconds = 2;      // twice DNS_TIMEOUT

}  // namespace

TEST_CASE("CAA walk deadline: a deep name whose DNS answers every CAA question slowly gets 424 "
          "dns_timeout within twice DNS_TIMEOUT, no order placed, the domain still verified") {
    Leftovers leftovers;
    std::string deepPrefix;
    for (int i = 0; i < kExtraLabels; ++i) deepPrefix += "a.";
    // Verified through the stack's own API and DNS; only the issuing API gets the slow DNS.
    const TestDomain domain = verifiedDomain(deepPrefix + "caa-walk", leftovers);

    std::atomic<int> caaQuestions{0};
    // Every name NOERROR and empty (an empty non-terminal): the walk goes on to its parent.
    FakeNameservers slowDns({requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS")},
                            [&](const std::string&, const std::string& qtype) {
                                if (qtype == "CAA") {
                                    ++caaQuestions;
                                    std::this_thread::sleep_for(kCaaAnswerDelay);
                                }
                                return std::vector<std::string>{};
                            });
    ApiServer api("caa-walk-deadline",
                  {{"DNS_RESOLVER", requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS") + ":53"},
                   {"DNS_TIMEOUT", "1s"}});
    const int ordersBefore = ordersAtTheCa();

    const auto started = Clock::now();
    // Bounded by the test client's own 30 s; without the bound the walk alone takes ~17 s and
    // the order is then placed (202).
    const HttpResult answer = send(
        api.baseUrl(),
        {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}});
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    INFO(answer.status << " after " << seconds << " s, " << caaQuestions.load()
                       << " CAA questions: " << answer.body);
    CHECK(answer.status == 424);
    CHECK(answer.jsonString("error_code") == "dns_timeout");
    CHECK(answer.retryAfterSeconds() > 0);
    // The bound, plus the CA's directory and account (Pebble) and lighttpd.
    CHECK(seconds < kBoundSeconds + 3);
    // At most what fits in the bound (5 at 400 ms) and the one it cut short; not all 43.
    CHECK(caaQuestions.load() <= 6);
    CHECK(ordersAtTheCa() == ordersBefore);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}
