// PostgreSQL stopped under a running dns-scheduler: its lookout keeps looking for due orders,
// but the outage is one error line, not "database unavailable" and "claim failed" at every
// 100 ms look (README "How issuance and renewal work"); once PostgreSQL is back the scheduler
// says so and takes orders again. Counted in its log; PostgreSQL stopped as the liveness cases
// stop it. And its looks come less often while they fail: counted as connections to a server
// that closes each one at once. The scheduler runs with webhooks on and its metrics flusher (the
// heartbeat) at its default interval: the webhook workers wait as the issuance workers do, the
// flusher keeps its 5 s interval, and none adds a line per try (before, each webhook worker
// tried every second, and the flusher warned at every cycle).
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
#include "support/webhook_receiver.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// The scheduler's log from byte `from` on.
std::string logSince(const SchedulerProcess& scheduler, std::size_t from) {
    const std::string log = scheduler.log();
    return from < log.size() ? log.substr(from) : std::string();
}

// Its warning and error lines in `log`, counted by message.
std::map<std::string, int> problemLines(const std::string& log) {
    std::map<std::string, int> counts;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("\"level\":\"error\"") == std::string::npos &&
            line.find("\"level\":\"warn\"") == std::string::npos)
            continue;
        const auto start = line.find("\"msg\":\"");
        const auto end = start == std::string::npos ? start : line.find('"', start + 7);
        ++counts[end == std::string::npos ? line : line.substr(start + 7, end - start - 7)];
    }
    return counts;
}

// The outage in `log` (the scheduler's, `window` long) is the database's one line
// (summarizeDatabaseOutages): a loop of the scheduler (issuance workers, webhook workers, the
// metrics flusher) that logged at each try it made shows as a message counted more than once.
void checkOutageLoggedOnce(const std::string& log, const char* window) {
    const auto lines = problemLines(log);
    int total = 0;
    std::string seen;
    for (const auto& [message, count] : lines) {
        total += count;
        seen += message + ": " + std::to_string(count) + "; ";
    }
    MESSAGE("warning and error lines in " << window << ": " << total << " (" << seen << ")");
    CHECK(lines.find("database unavailable") != lines.end());
    for (const auto& [message, count] : lines)
        CHECK_MESSAGE(count <= 1, "logged " << count << " times: " << message);
    // Before the workers' fix, two every 100 ms, about 200.
    CHECK(total <= 10);
}

// Webhooks on, as a deployment has them: a receiver of the tests on loopback. It gets nothing
// while PostgreSQL is away (no event is claimed).
struct WebhooksOn {
    std::string secret = newWebhookSecret();
    WebhookReceiver receiver{secret};
};

// The scheduler of both cases: 4 issuance workers, webhooks on with WEBHOOK_WORKERS and the
// metrics flusher's METRICS_FLUSH_INTERVAL at their defaults (4, 5 s), written out: the bounds
// below are worked out for them.
std::map<std::string, std::string> schedulerSettings(const std::string& databaseUrl,
                                                     const WebhooksOn& webhooks) {
    return {{"DATABASE_URL", databaseUrl},
            {"SCHEDULER_WORKERS", "4"},
            {"WEBHOOK_URL", webhooks.receiver.url()},
            {"WEBHOOK_SECRET", webhooks.secret},
            {"WEBHOOK_WORKERS", "4"},
            {"METRICS_FLUSH_INTERVAL", "5s"}};
}

// Its webhook workers run ("scheduler started" counts them).
bool deliversWebhooks(const SchedulerProcess& scheduler) {
    return scheduler.log().find("\"webhook_workers\":4") != std::string::npos;
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
    const WebhooksOn webhooks;
    // Neither TLS nor GSSAPI asked first: one connection per attempt of libpq's.
    const auto scheduler = startScheduler(schedulerSettings(
        "host=127.0.0.1 port=" + std::to_string(server.port()) +
            " dbname=dnsh user=postgres sslmode=disable gssencmode=disable",
        webhooks));
    REQUIRE_MESSAGE(deliversWebhooks(*scheduler), describe(*scheduler));
    std::this_thread::sleep_for(10s);
    const int connections = server.connections();
    MESSAGE("connections in 10 s: " << connections);
    CHECK(scheduler->running());
    // Its whole log, from its start: the flusher's first cycle is at once, so a warning at
    // each cycle would be there twice.
    checkOutageLoggedOnce(scheduler->log(), "10 s");
    // Each try that fails is two connections (the probe and PQping, db/database.cpp). Tries
    // 100 ms apart, doubling to 2 s: about 9 of each lookout (the orders' and the webhooks')
    // and the other workers' first ones (3 of each kind), a few more of the scans, and 2
    // flusher cycles: about 55 connections. Each webhook worker trying every second (the
    // scheduler's error delay) is 80 more; a look every 100 ms, about 200.
    CHECK(connections >= 2);
    CHECK(connections <= 80);
    int status = -1;
    CHECK_NOTHROW(status = scheduler->terminate());
    CHECK(status == 0);
}

TEST_CASE("fault: a scheduler logs a PostgreSQL outage once, not at every look, and resumes") {
    ScratchDatabase scratch("outage_log");
    scratch.migrate();
    // Declared after the scratch database: started again before it is dropped.
    StoppableService postgres("postgres");
    const WebhooksOn webhooks;
    const auto scheduler = startScheduler(schedulerSettings(scratch.url(), webhooks));
    REQUIRE_MESSAGE(deliversWebhooks(*scheduler), describe(*scheduler));
    // Connected before the outage: its first heartbeat is in.
    REQUIRE_MESSAGE(waitFor(10s,
                            [&] {
                                return scratch.text("SELECT count(*) FROM scheduler_heartbeats") !=
                                       "0";
                            }),
                    describe(*scheduler));

    const std::size_t outageStart = scheduler->log().size();
    postgres.stop();
    // About 100 looks of the lookout (worker 0, which also starts the renewals) at 100 ms each,
    // 10 tries of each webhook worker at 1 s, 2 cycles of the flusher, without the backoffs.
    std::this_thread::sleep_for(10s);
    CHECK(scheduler->running());
    // One line for the outage ("database unavailable").
    checkOutageLoggedOnce(logSince(*scheduler, outageStart), "10 s of outage");

    postgres.start();
    CHECK_MESSAGE(waitFor(20s,
                          [&] {
                              return logSince(*scheduler, outageStart)
                                         .find("\"msg\":\"database reachable again\"") !=
                                     std::string::npos;
                          }),
                  describe(*scheduler));
    // Its heartbeat is back (the flusher keeps its 5 s cycle through the outage): a beat newer
    // than any from before it, where a replica whose last beat is 60 s old counts as dead.
    CHECK_MESSAGE(waitFor(15s,
                          [&] {
                              return scratch.text("SELECT count(*) FROM scheduler_heartbeats "
                                                  "WHERE last_seen_at > now() - interval '4 "
                                                  "seconds'") != "0";
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
