// A get_domain process connects and prepares the domain view's statement when it starts, before
// its first request (http/serve.hpp, WarmUp): a fresh PostgreSQL backend's first statement
// loads its caches and plans, which made the first round after a start the slowest
// (tests/bench/api, "cold").
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE("fault: every get_domain process has run the view's statement before its first request") {
    // The server's sessions are told apart from every other by their application_name.
    const std::string application = "dnsh-warm-start-" + std::to_string(::getpid());
    ApiServer server("warm-start", {{"DATABASE_URL", std::string(std::getenv("DATABASE_URL")) +
                                                         " application_name=" + application}});
    // No request for a domain that can exist reached it (its readiness probe asks for a
    // malformed id, answered 404 without the database): only the warm-up runs the statement.
    const auto processes = server.handlerProcesses("get_domain");
    REQUIRE_FALSE(processes.empty());
    const auto warmed = [&] {
        return std::stoul(
            scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                   application + "' AND query LIKE 'SELECT d.id, d.domain_name%'"));
    };
    CHECK(waitFor(10s, [&] { return warmed() == processes.size(); }));
    CHECK(warmed() == processes.size());
}
