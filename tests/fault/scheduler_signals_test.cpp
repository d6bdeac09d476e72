// dns-scheduler and its signals (README "How issuance and renewal work", "Stopping"): SIGHUP is
// logged and ignored (the configuration is read only at start), and a second SIGTERM while the
// workers finish their steps changes nothing: the scheduler still stops cleanly, exit 0.
// Before, both ended the process by the signal's default action (Poco blocked the stop signals
// in the main thread only, once the workers ran, and never SIGHUP).
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

bool logged(const SchedulerProcess& scheduler, const std::string& message) {
    return scheduler.log().find("\"msg\":\"" + message) != std::string::npos;
}

}  // namespace

TEST_CASE("fault: a running scheduler logs SIGHUP and carries on") {
    ScratchDatabase scratch("scheduler_sighup");
    scratch.migrate();
    const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()}});
    REQUIRE(::kill(scheduler->pid(), SIGHUP) == 0);
    CHECK_MESSAGE(waitFor(5s, [&] { return logged(*scheduler, "SIGHUP ignored"); }),
                  describe(*scheduler));
    std::this_thread::sleep_for(2s);
    CHECK_MESSAGE(scheduler->running(), describe(*scheduler));
    // And SIGTERM still stops it as usual.
    int status = -1;
    CHECK_NOTHROW(status = scheduler->terminate());
    CHECK(status == 0);
    CHECK(logged(*scheduler, "scheduler stopped"));
}

TEST_CASE("fault: a second SIGTERM while the scheduler stops does not cut its stop short") {
    ScratchDatabase scratch("scheduler_double_term");
    scratch.migrate();
    // Worker 0 kept busy in its delegation sweep, as in idle_scheduler_test.cpp: the zone's
    // primary reads every update and answers none, so each value waits DNS_TIMEOUT, and a
    // stop waits for the value under way.
    const std::string primary = splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES")).front();
    FakeNameservers silent({primary});
    scratch.run("INSERT INTO delegation_cleanup (name, value, next_attempt_at, created_at) "
                "SELECT md5(i::text) || '." +
                requireEnv("DELEGATION_ZONE") +
                "', 'leftover' || i, now(), now() - interval '4 days' "
                "FROM generate_series(1, 40) AS i");
    const auto scheduler = startScheduler({{"DATABASE_URL", scratch.url()},
                                           {"DNS_UPDATE_SERVER", primary + ":53"},
                                           {"DNS_TIMEOUT", "4s"}});
    REQUIRE_MESSAGE(waitFor(20s, [&] { return silent.queries() > 0; }), describe(*scheduler));
    // Right as the next value starts: its wait, up to DNS_TIMEOUT, is the stop's.
    const int queries = silent.queries();
    REQUIRE_MESSAGE(waitFor(20s, [&] { return silent.queries() > queries; }, 10ms),
                    describe(*scheduler));

    REQUIRE(::kill(scheduler->pid(), SIGTERM) == 0);
    std::this_thread::sleep_for(100ms);
    REQUIRE(::kill(scheduler->pid(), SIGTERM) == 0);
    const std::optional<int> status = scheduler->exitStatusWithin(30s);
    REQUIRE_MESSAGE(status.has_value(), describe(*scheduler));
    // 0, not 143 (ended by SIGTERM's default action in a worker thread).
    CHECK_MESSAGE(*status == 0, describe(*scheduler));
    CHECK(logged(*scheduler, "scheduler stopping"));
    CHECK(logged(*scheduler, "scheduler stopped"));
}
