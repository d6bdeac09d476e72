// Racing clients through lighttpd (shared/domain/domain_transition.hpp: each transition is one
// compare-and-set in SQL, so concurrent calls cannot both win). Threads only record what they got;
// the assertions run on the main thread (doctest assertions are not thread-safe).
#include <doctest/doctest.h>

#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e_helpers.hpp"
#include "support/database.hpp"

using namespace dnsh::test;
using namespace dnsh::test::e2e;

namespace {

struct Outcome {
    int status = 0;  // -1: the request itself failed (connection error)
    std::string contentType;
    std::string body;
    std::string requestId;
    std::string failure;
};

// Runs `threads` copies of `request` released together; bounded by the thread count.
std::vector<Outcome> race(int threads, const HttpRequest& request) {
    std::vector<Outcome> outcomes(static_cast<std::size_t>(threads));
    std::latch start(threads);
    std::vector<std::thread> workers;
    const std::string base = baseUrl();
    for (int i = 0; i < threads; ++i) {
        workers.emplace_back([&, i] {
            Outcome& outcome = outcomes[static_cast<std::size_t>(i)];
            start.arrive_and_wait();
            try {
                const HttpResult result = send(base, request);
                outcome.status = result.status;
                outcome.contentType = result.header("Content-Type");
                outcome.body = result.body;
                outcome.requestId = result.header("X-Request-Id");
            } catch (const std::exception& error) {
                outcome.status = -1;
                outcome.failure = error.what();
            }
        });
    }
    for (auto& worker : workers) worker.join();
    return outcomes;
}

std::map<int, int> tally(const std::vector<Outcome>& outcomes) {
    std::map<int, int> byStatus;
    for (const auto& outcome : outcomes) ++byStatus[outcome.status];
    return byStatus;
}

std::string describe(const std::map<int, int>& byStatus) {
    std::string text;
    for (const auto& [status, n] : byStatus)
        text += std::to_string(status) + "x" + std::to_string(n) + " ";
    return text;
}

void checkEachIsJson(const std::vector<Outcome>& outcomes) {
    for (const auto& outcome : outcomes) {
        HttpResult result;
        result.status = outcome.status;
        result.body = outcome.body;
        INFO("status " << outcome.status << " body " << outcome.body << outcome.failure);
        CHECK(outcome.contentType.rfind("application/json", 0) == 0);
        CHECK(jsonProblem(result) == "");
        CHECK(matches(outcome.requestId, kSaneRequestId));
    }
}

}  // namespace

TEST_CASE(
    "concurrency: 50 clients register one new name at once: one 201, forty-nine 409, one row") {
    const std::string name = uniqueDomainName("race");
    const std::vector<Outcome> outcomes =
        race(50, {"POST", "/domains", createBody(name), "application/json", {}});
    const auto byStatus = tally(outcomes);
    INFO("statuses: " << describe(byStatus));
    CHECK(byStatus.size() == 2);
    CHECK(byStatus.count(201) == 1);
    CHECK(byStatus.count(409) == 1);
    if (byStatus.count(201) == 1) CHECK(byStatus.at(201) == 1);
    if (byStatus.count(409) == 1) CHECK(byStatus.at(409) == 49);
    checkEachIsJson(outcomes);
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = '" + name + "'") == 1);

    // The winner's answer names the row that exists; the losers say why they lost.
    for (const auto& outcome : outcomes) {
        HttpResult result;
        result.body = outcome.body;
        if (outcome.status == 201) {
            CHECK(count("SELECT count(*) FROM domains WHERE id = '" + result.jsonString("id") +
                        "' AND domain_name = '" + name + "'") == 1);
        } else if (outcome.status == 409) {
            CHECK(result.jsonString("error").find("already registered") != std::string::npos);
        }
    }
}

TEST_CASE("concurrency: 20 clients verify one domain at once: one 200, nineteen 409") {
    SandboxRecords dns;
    const Registered domain = registerDomain("verifyrace");
    dns.txt(domain.challengeName(), domain.token);
    const std::vector<Outcome> outcomes =
        race(20, {"POST", "/domains/" + domain.id + "/verify", "", "application/json", {}});
    const auto byStatus = tally(outcomes);
    INFO("statuses: " << describe(byStatus));
    CHECK(byStatus.size() == 2);
    CHECK(byStatus.count(200) == 1);
    CHECK(byStatus.count(409) == 1);
    if (byStatus.count(200) == 1) CHECK(byStatus.at(200) == 1);
    if (byStatus.count(409) == 1) CHECK(byStatus.at(409) == 19);
    checkEachIsJson(outcomes);

    std::string verifiedAt;
    for (const auto& outcome : outcomes) {
        HttpResult result;
        result.body = outcome.body;
        if (outcome.status == 200) {
            CHECK(result.jsonString("status") == "verified");
            verifiedAt = result.jsonString("verified_at");
        } else if (outcome.status == 409) {
            CHECK(result.jsonString("error").find("verified") != std::string::npos);
        }
    }
    // One transition: the stored verified_at is the winner's.
    const HttpResult read = get("/domains/" + domain.id);
    checkHandlerAnswer(read, 200);
    CHECK(read.jsonString("status") == "verified");
    CHECK(read.jsonString("verified_at") == verifiedAt);
}
