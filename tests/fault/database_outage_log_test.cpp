// PostgreSQL stopped under a running dns-scheduler: its lookout keeps looking for due orders,
// but the outage is one error line, not "database unavailable" and "claim failed" at every
// 100 ms look (README "How issuance and renewal work"); once PostgreSQL is back the scheduler
// says so and takes orders again. Counted in its log; PostgreSQL stopped as the liveness cases
// stop it. And its looks come less often while they fail: counted as connections to a server
// that closes each one at once.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/service_control.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The scheduler's log from byte `from` on.
std::string logSince(const SchedulerProcess& scheduler, std::size_t from) {
    const std::string log = scheduler.log();
    return from < log.size() ? log.substr(from) : std::string();
}

// Its error lines in `log`, counted by message.
std::map<std::string, int> errorLines(const std::string& log) {
    std::map<std::string, int> counts;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("\"level\":\"error\"") == std::string::npos) continue;
        const auto start = line.find("\"msg\":\"");
        const auto end = start == std::string::npos ? start : line.find('"', start + 7);
        ++counts[end == std::string::npos ? line : line.substr(start + 7, end - start - 7)];
    }
    return counts;
}


// Where DATABASE_URL points at no PostgreSQL: a free port of 127.0.0.1 whose every connection
// is accepted, counted and closed at once (libpq's connect fails: "server closed the
// connection unexpectedly").
class ClosingServer {
public:
    ClosingServer() {
        listener_ = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks a free one
        socklen_t size = sizeof(address);
        REQUIRE(bind(listener_, reinterpret_cast<const sockaddr*>(&address), size) == 0);
        REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
        REQUIRE(listen(listener_, 64) == 0);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~ClosingServer() {
        stopping_ = true;
        thread_.join();
        close(listener_);
    }
    ClosingServer(const ClosingServer&) = delete;
    ClosingServer& operator=(const ClosingServer&) = delete;

    int port() const { return port_; }
    int connections() const { return connections_; }

private:
    void serve() {
        while (!stopping_) {
            pollfd incoming{listener_, POLLIN, 0};
            if (poll(&incoming, 1, 50) <= 0) continue;
            const int client = accept(listener_, nullptr, nullptr);
            if (client < 0) continue;
            ++connections_;
            close(client);
        }
    }

    int listener_ = -1;
    int port_ = 0;
    std::atomic<int> connections_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("fault: a scheduler that cannot reach PostgreSQL looks less often while it fails") {
    ClosingServer server;
    // Neither TLS nor GSSAPI asked first: one connection per attempt of libpq's.
    const auto scheduler = startScheduler(
        {{"DATABASE_URL", "host=127.0.0.1 port=" + std::to_string(server.port()) +
                              " dbname=dnsh user=postgres sslmode=disable gssencmode=disable"},
         {"SCHEDULER_WORKERS", "4"}});
    std::this_thread::sleep_for(10s);
    const int connections = server.connections();
    int errors = 0;
    for (const auto& [message, lines] : errorLines(scheduler->log())) errors += lines;
    MESSAGE("connections in 10 s: " << connections << "; error lines: " << errors);
    CHECK(scheduler->running());
    CHECK(errors <= 10);  // the outage's one "database unavailable"
    // Each look that fails is two connections (the probe and PQping, db/database.cpp). Looks
    // 100 ms apart, doubling to 2 s: about 9 of the lookout, the 3 other workers' first looks
    // and 2 heartbeats, about 30 connections. A look every 100 ms: about 200.
    CHECK(connections >= 2);
    CHECK(connections <= 60);
    int status = -1;
    CHECK_NOTHROW(status = scheduler->terminate());
    CHECK(status == 0);
}

TEST_CASE("fault: a scheduler logs a PostgreSQL outage once, not at every look, and resumes") {
    ScratchDatabase scratch("outage_log");
    scratch.migrate();
    // Declared after the scratch database: started again before it is dropped.
    StoppableService postgres("postgres");
    const auto scheduler =
        startScheduler({{"DATABASE_URL", scratch.url()}, {"SCHEDULER_WORKERS", "4"}});
    // Connected before the outage: its first heartbeat is in.
    REQUIRE_MESSAGE(waitFor(10s,
                            [&] {
                                return scratch.text("SELECT count(*) FROM scheduler_heartbeats") !=
                                       "0";
                            }),
                    describe(*scheduler));

    const std::size_t outageStart = scheduler->log().size();
    postgres.stop();
    // About 100 looks of the lookout (worker 0, which also starts the renewals) at 100 ms each.
    std::this_thread::sleep_for(10s);
    const auto errors = errorLines(logSince(*scheduler, outageStart));
    int total = 0;
    std::string seen;
    for (const auto& [message, lines] : errors) {
        total += lines;
        seen += message + ": " + std::to_string(lines) + "; ";
    }
    MESSAGE("error lines in 10 s of outage: " << total << " (" << seen << ")");
    CHECK(scheduler->running());
    // One for the outage ("database unavailable"); before, two every 100 ms, about 200.
    CHECK(total >= 1);
    CHECK(total <= 10);

    postgres.start();
    CHECK_MESSAGE(waitFor(20s,
                          [&] {
                              return logSince(*scheduler, outageStart)
                                         .find("\"msg\":\"database reachable again\"") !=
                                     std::string::npos;
                          }),
                  describe(*scheduler));
    // And its workers take orders again: one placed now has a step logged.
    const std::string orderId = insertDueIssueOrder(scratch, "outage-order");
    CHECK_MESSAGE(waitFor(20s, [&] { return stepLogged(*scheduler, orderId); }),
                  describe(*scheduler));

    int status = -1;
    CHECK_NOTHROW(status = scheduler->terminate());
    CHECK(status == 0);
}
