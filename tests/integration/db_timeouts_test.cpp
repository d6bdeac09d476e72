// Issue 18 #10: every statement is bounded. A row another session holds (here the domain's,
// as `dnsh-admin rotate-kek` holds every key row for its whole transaction) makes a handler
// answer a JSON 503 with Retry-After once DB_LOCK_TIMEOUT has passed, instead of waiting for as
// long as the other session likes; the domain is untouched and the request can be repeated.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>

#include "integration_support.hpp"
#include "support/held_rows.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Timed {
    HttpResult result;
    double seconds = 0;
};

Timed runTimed(const std::string& handler, const CgiRequest& request) {
    const auto started = Clock::now();
    Timed timed{runCgi(handler, request), 0};
    timed.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return timed;
}

}  // namespace

TEST_CASE(
    "timeouts: a row held by another session gives a JSON 503 with Retry-After within "
    "DB_LOCK_TIMEOUT") {
    const RegisteredDomain domain = registerFreshDomain("lock-timeout");
    struct Case {
        const char* description;
        const char* lock;  // what the other session holds
    };
    const Case cases[] = {
        {"DELETE while the domain row is locked",
         "SELECT id FROM domains WHERE id = '%' FOR UPDATE"},
        {"DELETE while the domain row is share-locked (a child row being inserted elsewhere)",
         "SELECT id FROM domains WHERE id = '%' FOR KEY SHARE"},
    };
    for (const Case& c : cases) {
        const std::string description = c.description;
        CAPTURE(description);
        std::string lock = c.lock;
        lock.replace(lock.find('%'), 1, domain.id);
        std::future<Timed> deletion;
        HeldRows held(databaseUrl(), lock);
        deletion = std::async(std::launch::async, [&] {
            CgiRequest request;
            request.method = "DELETE";
            request.path = "/domains/" + domain.id;
            request.contentType = "";
            request.env = {{"DB_LOCK_TIMEOUT", "1s"}, {"LOG_LEVEL", "error"}};
            const auto started = Clock::now();
            Timed timed{runCgi("delete_domain", request), 0};
            timed.seconds = std::chrono::duration<double>(Clock::now() - started).count();
            return timed;
        });
        const bool answered = deletion.wait_for(8s) == std::future_status::ready;
        held.release();  // lets a handler that waits without a bound finish
        const Timed timed = deletion.get();
        INFO("DELETE answered " << timed.result.status << " " << timed.result.body << " after "
                                << timed.seconds << " s");
        CHECK_MESSAGE(answered, "the handler was still waiting for the row after 8 s");
        REQUIRE(timed.result.status == 503);
        checkError(timed.result, 503, "database");
        CHECK_FALSE(timed.result.header("Retry-After").empty());
        CHECK(timed.seconds < 4.0);
        // Nothing happened: the domain is still there.
        CHECK(getDomain(domain.id).status == 200);
    }
    // Once the row is free the same request goes through.
    CgiRequest request;
    request.method = "DELETE";
    request.path = "/domains/" + domain.id;
    request.contentType = "";
    CHECK(runCgi("delete_domain", request).status == 204);
}

// /metrics reads scheduler_heartbeats through one of Poco's own statements, not runSql: Poco's
// exception has no SQLSTATE (its Parse step drops it), and a lock timeout there was a 500
// "internal error" without Retry-After. It is the same 503 as any handler's now.
TEST_CASE(
    "timeouts: GET /metrics while a table it reads is locked gives a JSON 503 with Retry-After "
    "within DB_LOCK_TIMEOUT") {
    CgiRequest request;
    request.method = "GET";
    request.path = "/metrics";
    request.contentType = "";
    request.env = {{"DB_LOCK_TIMEOUT", "1s"}, {"LOG_LEVEL", "error"}};
    {
        HeldTable held(databaseUrl(), "scheduler_heartbeats", "ACCESS EXCLUSIVE");
        std::future<Timed> scrape =
            std::async(std::launch::async, [&] { return runTimed("metrics", request); });
        const bool answered = scrape.wait_for(8s) == std::future_status::ready;
        held.release();  // lets a handler that waits without a bound finish
        const Timed timed = scrape.get();
        INFO("GET /metrics answered " << timed.result.status << " " << timed.result.body
                                      << " after " << timed.seconds << " s");
        CHECK_MESSAGE(answered, "the handler was still waiting for the table after 8 s");
        REQUIRE(timed.result.status == 503);
        checkError(timed.result, 503, "database busy");
        CHECK_FALSE(timed.result.header("Retry-After").empty());
        CHECK(timed.seconds < 4.0);
    }
    // Once the table is free the same scrape goes through.
    CHECK(runCgi("metrics", request).status == 200);
}
