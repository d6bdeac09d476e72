// Issue 18 #9, as it happens in production: clients delete domains through lighttpd while the
// scheduler advances their orders (the delete deactivates the CA authorizations first, so the
// scheduler may find them deactivated and fail the order at that very moment) and completes the
// issuance of others (whose counters share metric_row_counts with the cascaded deletes). Bounded
// rounds; every DELETE must answer 204, and neither PostgreSQL nor the scheduler may report a
// deadlock. tests/integration/lock_order_test.cpp forces each interleaving; this one lets the
// real processes race.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

constexpr int kRounds = 3;
constexpr int kDomainsPerRound = 8;

struct Deletion {
    std::string id;
    std::string when;  // for failure messages
    HttpResult result;
    bool meantOnceActive = false;
    bool reachedActive = false;
    std::string certificateId;  // the certificate the active domain showed; "" when none
};

// How long a domain meant to be deleted once active may take to get there: eight issuances of
// a round run at once on a loaded test host (renewal_test waits 30 s for six).
constexpr auto kActiveWait = 30s;

}  // namespace

TEST_CASE("delete race: DELETE while the scheduler issues never answers 5xx or deadlocks") {
    Leftovers leftovers;
    const long long deadlocksBefore = postgresLogLines("deadlock detected");
    // The e2e tests run on deploy/test's stack, which always writes this log: without it the
    // check at the end would prove nothing.
    REQUIRE_MESSAGE(deadlocksBefore >= 0, "no PostgreSQL log to read under DNSH_TEST_DIR");
    const auto scheduler = startScheduler();

    std::vector<Deletion> deletions;
    for (int round = 1; round <= kRounds; ++round) {
        std::vector<TestDomain> domains;
        for (int i = 0; i < kDomainsPerRound; ++i) {
            domains.push_back(verifiedDomain("delete-race", leftovers));
            publish(domains.back(), startIssuance(domains.back()));
        }
        // Half are deleted while their orders move (staggered over the issuance: answering the
        // challenge, polling the authorization, finalizing, storing), half once they are active,
        // while the others still complete.
        std::vector<Deletion> roundDeletions(domains.size());
        std::vector<std::thread> clients;
        for (std::size_t i = 0; i < domains.size(); ++i) {
            clients.emplace_back([&, i] {
                Deletion& deletion = roundDeletions[i];
                deletion.id = domains[i].id;
                if (i % 2 == 0) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(150 * i));
                    deletion.when = "while issuing, after " + std::to_string(150 * i) + " ms";
                } else {
                    // Through the API: the test's own database session is not for threads.
                    // Whether it got there is kept: a delete that only ran after the wait gave
                    // up would race with nothing. Active and its certificate are stored in one
                    // transaction (OrderStore::storeCertificate), so the view shows both.
                    deletion.meantOnceActive = true;
                    deletion.reachedActive = waitFor(kActiveWait, [&] {
                        try {
                            const HttpResult view = send(
                                baseUrl(),
                                HttpRequest{"GET", "/domains/" + domains[i].id, "", "", {}});
                            if (view.jsonString("status") != "active") return false;
                            if (const auto certificate = view.json()->getObject("certificate"))
                                deletion.certificateId =
                                    certificate->optValue<std::string>("id", "");
                            return true;
                        } catch (const std::exception&) {
                            return false;
                        }
                    });
                    deletion.when = deletion.reachedActive
                                        ? "once active"
                                        : "meant once active, but it never got there";
                }
                try {
                    deletion.result = send(
                        baseUrl(), HttpRequest{"DELETE", "/domains/" + domains[i].id, "", "", {}});
                } catch (const std::exception& e) {
                    deletion.result.body = std::string("transport error: ") + e.what();
                }
            });
        }
        for (auto& client : clients) client.join();
        deletions.insert(deletions.end(), roundDeletions.begin(), roundDeletions.end());
    }

    int deleted = 0;
    for (const Deletion& deletion : deletions) {
        INFO("DELETE " << deletion.id << " " << deletion.when << ": " << deletion.result.status
                       << " " << deletion.result.body);
        if (deletion.meantOnceActive) {
            // The scheduler did issue while the other deletes ran: each of these was active,
            // with its certificate stored, when it was deleted.
            CHECK(deletion.reachedActive);
            CHECK_FALSE(deletion.certificateId.empty());
        }
        CHECK(deletion.result.status == 204);
        if (deletion.result.status == 204) ++deleted;
        CHECK(count("SELECT count(*) FROM domains WHERE id = " + quoted(deletion.id)) == 0);
    }
    MESSAGE(deleted << " of " << deletions.size() << " deletes answered 204");
    CHECK(scheduler->running());
    const std::string log = scheduler->log();
    CHECK_MESSAGE(log.find("deadlock") == std::string::npos, "the scheduler logged a deadlock");
    CHECK(postgresLogLines("deadlock detected") == deadlocksBefore);
}
