// PGCONNECT_TIMEOUT bounds every host of a multi-host DATABASE_URL for Poco's sessions too (README
// "PostgreSQL failover"): Poco 1.11's connector puts connect_timeout=60 into the string it hands
// libpq unless the string has its own, so a first host that never answers cost a minute per
// connection after libpq's own first connection (a ping then, a probe now) had taken 3 s.
#include <Poco/Net/ServerSocket.h>
#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>

#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/database.hpp"
#include "support/scoped_environment.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE(
    "database: a first host that never answers costs PGCONNECT_TIMEOUT, not Poco's 60 s, before "
    "the second one serves") {
    const ScopedEnvironmentVariable timeout("PGCONNECT_TIMEOUT", "3");
    // A loopback port whose kernel completes the TCP handshake (the listen backlog) and then
    // says nothing: libpq's connect_timeout covers its whole wait for the server's first answer,
    // as it does a SYN that is never answered (a host gone from the network).
    std::optional<Poco::Net::ServerSocket> silent;
    silent.emplace(Poco::Net::SocketAddress("127.0.0.1", 0));
    const std::string url =
        stackConnectionString(FirstHost{"127.0.0.1", silent->address().port()});
    Database database(url);
    const auto started = Clock::now();
    std::future<std::string> first = std::async(std::launch::async, [&] {
        return database.withSession([](Poco::Data::Session& session) {
            return runSql(session, "SELECT 'served' AS answer").text(0, "answer");
        });
    });
    // Bounded: past 20 s the silent host is closed (its queued connections reset), which lets a
    // connect that would wait out 60 s go on to the second host, so the case ends either way.
    const bool inTime = first.wait_for(20s) == std::future_status::ready;
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    silent.reset();
    const std::string answer = first.get();
    INFO("the first connection took " << seconds << " s");
    CHECK_MESSAGE(inTime, "still connecting after 20 s: the session waited out Poco's "
                          "connect_timeout=60 on the silent host");
    CHECK(answer == "served");
}
