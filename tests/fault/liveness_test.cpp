// Issue 18 #10: /healthz is liveness (the process serves), /readyz readiness (PostgreSQL
// answers). With PostgreSQL frozen (every process stopped with SIGSTOP: a hung server, or a
// network partition that keeps its sockets open) or stopped, /healthz still answers 200 at once,
// and /readyz answers 503 within a bound instead of hanging. Through lighttpd, as a load
// balancer probes them. The bound holds when /readyz must connect again (its connection was
// closed) to a server that never answers: the connect is within it, not connect_timeout per host.
#include <Poco/Net/ServerSocket.h>
#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/processes.hpp"
#include "support/service_control.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Timed {
    HttpResult result;
    double seconds = 0;
    Clock::time_point finished;
};

// A GET that never throws: a transport failure is status 0 with the reason as body.
std::future<Timed> probe(const std::string& path, const std::string& server = baseUrl()) {
    return std::async(std::launch::async, [path, server] {
        const auto started = Clock::now();
        Timed timed;
        try {
            timed.result = send(server, HttpRequest{"GET", path, "", "", {}});
        } catch (const std::exception& e) {
            timed.result.body = std::string("transport error: ") + e.what();
        }
        timed.finished = Clock::now();
        timed.seconds = std::chrono::duration<double>(timed.finished - started).count();
        return timed;
    });
}

// The test stack's PostgreSQL, every process of it stopped (SIGSTOP) until the guard ends.
class FrozenPostgres {
public:
    FrozenPostgres() {
        const std::string text = readFile(requireEnv("DNSH_TEST_DIR") + "/run/postgres.pid");
        REQUIRE_FALSE(text.empty());
        postmaster_ = static_cast<pid_t>(std::stol(text));
        pids_.push_back(postmaster_);
        DIR* proc = opendir("/proc");
        REQUIRE(proc != nullptr);
        while (const dirent* entry = readdir(proc)) {
            const std::string name = entry->d_name;
            if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
            const pid_t pid = static_cast<pid_t>(std::stol(name));
            if (parentOf(pid) == postmaster_) pids_.push_back(pid);
        }
        closedir(proc);
        ::kill(postmaster_, SIGSTOP);  // first: it starts no new backend meanwhile
        for (pid_t pid : pids_) ::kill(pid, SIGSTOP);
    }
    ~FrozenPostgres() { thaw(); }
    FrozenPostgres(const FrozenPostgres&) = delete;
    FrozenPostgres& operator=(const FrozenPostgres&) = delete;
    void thaw() {
        for (pid_t pid : pids_) ::kill(pid, SIGCONT);
        pids_.clear();
    }
    std::size_t processes() const { return pids_.size(); }

private:
    pid_t postmaster_ = 0;
    std::vector<pid_t> pids_;
};

// The stack's DATABASE_URL as key=value, its connections told apart by `application`
// (application_name), with connect_timeout=10: far past the 6 s the cases below wait for an
// answer. With `firstPort`, 127.0.0.1 on that port comes before the stack's server: libpq
// tries it first.
std::string stackUrl(const std::string& application, int firstPort = 0) {
    std::optional<FirstHost> first;
    if (firstPort != 0) first = FirstHost{"127.0.0.1", firstPort};
    return stackConnectionString(first,
                                 {{"connect_timeout", "10"}, {"application_name", application}});
}

// Ends every PostgreSQL connection of `application` (the /readyz handler's among them) and
// waits until they are gone: the handler finds its connection closed at its next probe.
void closeConnectionsOf(const std::string& application) {
    const std::string pids =
        scalar("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE "
               "application_name = " + quoted(application));
    REQUIRE_FALSE(pids.empty());
    CHECK(count("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS done FROM "
                "pg_stat_activity WHERE pid IN (" + pids + ")) killed WHERE killed.done") >= 1);
    const std::string left = "SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + pids + ")";
    REQUIRE(waitFor(10s, [&] { return count(left) == 0; }, 50ms));
}

std::string uniqueApplicationName(const std::string& name) {
    return "dnsh-" + name + "-" + std::to_string(::getpid());
}

// GET /readyz of `server` answered within 6 s (its connect kept to the 2 s bound; the URL's
// connect_timeout is 10 s), with 503 and Retry-After. `meanwhile` runs once the wait is over,
// answered or not, before the answer is read (a frozen server thawed, so that it comes).
void checkReadyz503Within6s(const ApiServer& server, const std::function<void()>& meanwhile) {
    auto ready = probe("/readyz", server.baseUrl());
    const bool answered = ready.wait_for(6s) == std::future_status::ready;
    meanwhile();
    const Timed readiness = ready.get();
    INFO("/readyz: " << readiness.result.status << " " << readiness.result.body << " after "
                     << readiness.seconds << " s");
    CHECK_MESSAGE(answered, "/readyz did not answer within 6 s: its connect waited longer");
    CHECK(readiness.result.status == 503);
    CHECK_FALSE(readiness.result.header("Retry-After").empty());
}

// Whether GET /readyz of `server` answers 200 within `within`.
bool readyzAnswers200Within(const ApiServer& server, std::chrono::seconds within) {
    return waitFor(
        within,
        [&] {
            return send(server.baseUrl(), HttpRequest{"GET", "/readyz", "", "", {}}).status == 200;
        },
        200ms);
}

}  // namespace

TEST_CASE("fault: /healthz answers 200 while PostgreSQL is frozen, /readyz 503 within a bound") {
    // The readiness handler holds a session from here on: the frozen server has it mid-query.
    REQUIRE(get("/readyz").status == 200);
    REQUIRE(get("/healthz").status == 200);

    std::future<Timed> ready, live;
    {
        FrozenPostgres frozen;
        MESSAGE("froze " << frozen.processes() << " PostgreSQL processes");
        ready = probe("/readyz");
        std::this_thread::sleep_for(300ms);  // the readiness probe is in flight first
        live = probe("/healthz");
        const bool liveAnswered = live.wait_for(5s) == std::future_status::ready;
        const bool readyAnswered = liveAnswered && ready.wait_for(15s) == std::future_status::ready;
        frozen.thaw();
        const Timed liveness = live.get();
        const Timed readiness = ready.get();
        INFO("/healthz: " << liveness.result.status << " " << liveness.result.body << " after "
                          << liveness.seconds << " s");
        INFO("/readyz: " << readiness.result.status << " " << readiness.result.body << " after "
                         << readiness.seconds << " s");
        CHECK_MESSAGE(liveAnswered, "/healthz did not answer within 5 s of PostgreSQL freezing");
        CHECK(liveness.result.status == 200);
        CHECK(liveness.seconds < 4.0);  // a sanity bound, with room for a loaded machine
        CHECK_MESSAGE(readyAnswered, "/readyz did not answer within 15 s");
        // Sent 300 ms after /readyz, which waits for the frozen database up to its 2 s bound,
        // /healthz answers first: it is not queued behind it (a process of its own) nor waits
        // for the database itself.
        CHECK(liveness.finished < readiness.finished);
        CHECK(readiness.result.status == 503);
        CHECK_FALSE(readiness.result.header("Retry-After").empty());
    }
    // Thawed: ready again by itself.
    CHECK(waitFor(
        10s, [] { return get("/readyz").status == 200; }, 200ms));
}

TEST_CASE("fault: /healthz answers 200 while PostgreSQL is stopped, /readyz 503") {
    REQUIRE(get("/readyz").status == 200);
    StoppableService postgres("postgres");
    postgres.stop();
    auto live = probe("/healthz");
    auto ready = probe("/readyz");
    REQUIRE(live.wait_for(10s) == std::future_status::ready);
    REQUIRE(ready.wait_for(15s) == std::future_status::ready);
    const Timed liveness = live.get();
    const Timed readiness = ready.get();
    INFO("/healthz: " << liveness.result.status << " " << liveness.result.body);
    INFO("/readyz: " << readiness.result.status << " " << readiness.result.body);
    CHECK(liveness.result.status == 200);
    CHECK(liveness.seconds < 4.0);  // not the connect timeout's wait, with room for load
    CHECK(readiness.result.status == 503);
    postgres.start();
    CHECK(waitFor(
        10s, [] { return get("/readyz").status == 200; }, 200ms));
}

TEST_CASE("fault: /readyz reconnecting to a PostgreSQL that never answers is 503 within 2 s") {
    const std::string name = uniqueApplicationName("readyz-reconnect");
    ApiServer server("readyz-reconnect", {{"DATABASE_URL", stackUrl(name)}});
    REQUIRE(send(server.baseUrl(), HttpRequest{"GET", "/readyz", "", "", {}}).status == 200);
    closeConnectionsOf(name);
    {
        // Its next probe connects again, to a server whose kernel takes the connection and
        // that says nothing (frozen): within the 2 s, not the URL's connect_timeout of 10 s.
        FrozenPostgres frozen;
        checkReadyz503Within6s(server, [&] { frozen.thaw(); });
    }
    CHECK(readyzAnswers200Within(server, 10s));
}

TEST_CASE("fault: /readyz reconnecting past a first host that never answers is 503 within 2 s "
          "while libpq waits on it, then 200 from the second host") {
    const std::string name = uniqueApplicationName("readyz-first-host");
    // The first host: a loopback port bound but not listening, so refused at once, until it
    // listens below and never accepts (the kernel completes the handshake, nothing answers).
    Poco::Net::ServerSocket firstHost;
    firstHost.bind(Poco::Net::SocketAddress("127.0.0.1", 0));
    ApiServer server("readyz-first-host",
                     {{"DATABASE_URL", stackUrl(name, firstHost.address().port())}});
    REQUIRE(send(server.baseUrl(), HttpRequest{"GET", "/readyz", "", "", {}}).status == 200);
    closeConnectionsOf(name);
    firstHost.listen();
    // Its next probe connects again, as libpq does: connect_timeout (10 s) on the silent first
    // host, then the second (the stack's server). The probe does not wait for that: 503 within
    // its 2 s. Before: the probe waited about 20 s itself, connecting twice (libpq's own
    // connect, then Poco's session), each waiting the 10 s on the silent host.
    checkReadyz503Within6s(server, [] {});
    // The connect under way reaches the second host once libpq gives up on the first; the
    // probes after it answer 200 (the server is not restarted, nothing else changes).
    CHECK(readyzAnswers200Within(server, 25s));
}
