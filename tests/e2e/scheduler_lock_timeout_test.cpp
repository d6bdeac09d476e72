// Issue 18 #10 for the scheduler: a step that waits for a row another session holds (as
// `dnsh-admin rotate-kek` holds every key row) gives up after DB_LOCK_TIMEOUT, gives the order
// back without counting an attempt against it (the order did nothing wrong), and the order
// completes once the row is free, instead of a worker waiting for as long as the other session
// likes.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>

#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE(
    "timeouts: a scheduler step waiting past DB_LOCK_TIMEOUT gives the order back, then "
    "completes") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("lock-wait", leftovers);
    const std::string value = startIssuance(domain);

    // Another session holds the domain's row: every write the scheduler makes for it waits.
    dnsh::Database holder(databaseUrl());
    auto hold = [&](const std::string& sql) {
        holder.withSession([&](Poco::Data::Session& session) {
            dnsh::executeScript(session, sql);
            return true;
        });
    };
    hold("BEGIN; SELECT id FROM domains WHERE id = " + quoted(domain.id) + " FOR UPDATE");
    struct Release {
        std::function<void()> release;
        ~Release() {
            try {
                release();
            } catch (...) {
            }
        }
    } release{[&] { hold("COMMIT"); }};

    publish(domain, value);
    const auto scheduler = startScheduler({{"DB_LOCK_TIMEOUT", "1s"}});
    const bool gaveUp = waitFor(
        20s, [&] { return scheduler->log().find("database busy") != std::string::npos; }, 200ms);
    CHECK_MESSAGE(gaveUp, "no step gave up waiting for the locked row within 20 s");
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
    CHECK(count("SELECT attempts FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(scheduler->running());

    hold("COMMIT");
    release.release = [] {};
    requireAllActive({domain}, 30s);
}
