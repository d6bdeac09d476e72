// Issue 18 #10: /healthz is liveness (the process serves), /readyz readiness (PostgreSQL
// answers). With PostgreSQL frozen (every process stopped with SIGSTOP: a hung server, or a
// network partition that keeps its sockets open) or stopped, /healthz still answers 200 at once,
// and /readyz answers 503 within a bound instead of hanging. Through lighttpd, as a load
// balancer probes them.
#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

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
std::future<Timed> probe(const std::string& path) {
    return std::async(std::launch::async, [path] {
        const auto started = Clock::now();
        Timed timed;
        try {
            timed.result = send(baseUrl(), HttpRequest{"GET", path, "", "", {}});
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
