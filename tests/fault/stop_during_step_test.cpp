// SIGTERM while a worker is inside a long step (README "Stopping"): systemd allows the scheduler
// 60 s (TimeoutStopSec), and a step used to run to its end first. Here the step is a renewal's
// place_order walking the CAA tree of a name 40 labels deep (RFC 8659 §3: one question per label
// up to the top-level domain), its DNS a played server standing in as the scheduler's
// DNS_RESOLVER that answers each CAA question 700 ms late, in time (DNS_TIMEOUT=2s): about 30 s,
// which nothing in the scheduler bounds (issue-certificate's CAA budget is the handler's). Stopped
// a few questions in, the worker gives the order back before its next question, due at once and
// with no attempt counted, and the scheduler exits; before, it walked on and placed the order
// first (caa_walk_deadline_test.cpp has the handler's side of such walks).
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// "a." times `labels`.
std::string deepPrefix(int labels) {
    std::string prefix;
    for (int i = 0; i < labels; ++i) prefix += "a.";
    return prefix;
}

}  // namespace

TEST_CASE("stop: SIGTERM during a renewal's slow CAA walk gives the order back before the next "
          "question, no attempt counted, and the scheduler exits") {
    ScratchDatabase scratch("stop_during_step");
    scratch.migrate();
    const std::string played = requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS");
    std::atomic<int> caaQuestions{0};
    FakeNameservers slowDns({played}, [&](const std::string&, const std::string& qtype) {
        if (qtype == "CAA") {
            ++caaQuestions;
            std::this_thread::sleep_for(700ms);
        }
        return std::vector<std::string>{};  // an empty non-terminal: on to the parent
    });
    const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()},
                                           {"DNS_RESOLVER", played + ":53"},
                                           {"DNS_TIMEOUT", "2s"}});
    // A renewal due now, which the scheduler places itself (place_order): its CAA precheck
    // comes before any newOrder.
    const std::string domainId = dnsh::randomHex(16);
    const std::string orderId = dnsh::randomHex(16);
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES (" +
                quoted(domainId) + ", " + quoted(deepPrefix(40) + uniqueDomainName("stop-walk")) +
                ", " + quoted(dnsh::randomHex(32)) +
                ", 'active', now()); "
                "INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES (" +
                quoted(orderId) + ", " + quoted(domainId) + ", 'renewal', 'place_order', now())");
    REQUIRE_MESSAGE(waitFor(30s, [&] { return caaQuestions.load() >= 3; }),
                    describe(*scheduler));

    const int askedAtStop = caaQuestions.load();
    REQUIRE(::kill(scheduler->pid(), SIGTERM) == 0);
    // Bounded, not timed: the question under way is answered, then the order goes back. Before,
    // the walk went on for its ~40 questions (28 s) and the order was placed first.
    const std::optional<int> status = scheduler->exitStatusWithin(15s);
    INFO("CAA questions: " << askedAtStop << " at the stop, " << caaQuestions.load() << " in all");
    REQUIRE_MESSAGE(status.has_value(), describe(*scheduler));
    CHECK(*status == 0);
    const std::string log = scheduler->log();
    INFO(log);
    CHECK(log.find("\"order given back: the scheduler is stopping\"") != std::string::npos);
    CHECK(log.find("\"scheduler stopped\"") != std::string::npos);
    // Given back as it was: not leased, no attempt counted, still to be placed (no newOrder).
    const std::string row = "FROM acme_orders WHERE id = " + quoted(orderId);
    CHECK(scratch.text("SELECT (lease_owner IS NULL)::text " + row) == "true");
    CHECK(scratch.text("SELECT attempts::text " + row) == "0");
    CHECK(scratch.text("SELECT step " + row) == "place_order");
    CHECK(scratch.text("SELECT (order_url IS NULL)::text " + row) == "true");
}
