// Faults injected for real (issue 4, "Faults"): PostgreSQL stopped under load and its sessions
// killed, a FastCGI handler killed mid-request, the ACME CA unreachable or restarted, the database
// refusing the certificate insert, a dead scheduler replica's lease. Every case restores what it
// broke (RAII guards, also when an assertion stops it) and fails what it leaves in
// certificate_pending, so the next case starts from a working stack.
#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/random.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/processes.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/service_control.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string errorOf(const HttpResult& result) {
    try {
        return result.jsonString("error");
    } catch (const std::exception&) {
        return "";
    }
}

// A request that never throws: a transport failure becomes status 0 with the reason as body.
HttpResult sendSafely(const HttpRequest& request) {
    try {
        return send(baseUrl(), request);
    } catch (const std::exception& e) {
        HttpResult failed;
        failed.body = std::string("transport error: ") + e.what();
        return failed;
    }
}

HttpRequest getDomainRequest(const std::string& id) {
    return {"GET", "/domains/" + id, "", "", {}};
}

HttpRequest createRequest(const std::string& name) {
    return {"POST", "/domains", "{\"domain_name\": \"" + name + "\"}", "application/json", {}};
}

// --- services -------------------------------------------------------------------------------

// StoppableService: support/service_control.hpp.

// --- domains --------------------------------------------------------------------------------

std::string domainStatus(const TestDomain& domain) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id));
}

std::string domainSummary(const TestDomain& domain) {
    return scalar(
        "SELECT status || coalesce(' (' || error || ')', '') || ' lease=' || "
        "coalesce((SELECT string_agg(o.lease_owner, ',') FROM acme_orders o "
        "WHERE o.domain_id = d.id), '-') FROM domains d WHERE id = " +
        quoted(domain.id));
}

long long orderCount(const TestDomain& domain) {
    return count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id));
}

long long certificateCount(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

// Lines of a log file containing every one of `parts`.
int countLogLines(const std::string& path, const std::vector<std::string>& parts) {
    std::istringstream lines(readFile(path));
    std::string line;
    int found = 0;
    while (std::getline(lines, line)) {
        if (std::all_of(parts.begin(), parts.end(), [&](const std::string& part) {
                return line.find(part) != std::string::npos;
            }))
            ++found;
    }
    return found;
}

// --- processes ------------------------------------------------------------------------------

struct ProcInfo {
    char state = '?';
    pid_t ppid = 0;
};

std::optional<ProcInfo> procInfo(pid_t pid) {
    const std::vector<std::string> fields = statOf(pid);
    if (fields.size() < 2) return std::nullopt;
    return ProcInfo{fields[0][0], static_cast<pid_t>(std::stol(fields[1]))};
}

// Live (not zombie) children of `parent` whose command line names handlers/<handler>.
std::vector<pid_t> handlerProcesses(pid_t parent, const std::string& handler) {
    std::vector<pid_t> found;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return found;
    while (const dirent* entry = readdir(proc)) {
        const std::string name = entry->d_name;
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        const auto info = procInfo(pid);
        if (!info || info->ppid != parent || info->state == 'Z') continue;
        std::string cmdline = readFile("/proc/" + name + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find("handlers/" + handler + " ") != std::string::npos) found.push_back(pid);
    }
    closedir(proc);
    std::sort(found.begin(), found.end());
    return found;
}

pid_t lighttpdPid() {
    const std::string text = readFile(requireEnv("DNSH_TEST_DIR") + "/run/lighttpd.pid");
    return static_cast<pid_t>(std::stol(text));
}

// Handler processes this case stopped: killed when it ends (lighttpd respawns them), so none is
// left frozen whatever happens.
class FrozenHandlers {
public:
    FrozenHandlers(pid_t parent, std::vector<pid_t> pids)
        : parent_(parent), pids_(std::move(pids)) {
        for (pid_t pid : pids_) ::kill(pid, SIGSTOP);
    }
    FrozenHandlers(const FrozenHandlers&) = delete;
    FrozenHandlers& operator=(const FrozenHandlers&) = delete;
    ~FrozenHandlers() { killAll(); }
    // Let them go on, unharmed.
    void thaw() {
        for (pid_t pid : pids_) ::kill(pid, SIGCONT);
        pids_.clear();
    }
    void killAll() {
        for (pid_t pid : pids_) {
            const auto info = procInfo(pid);
            if (info && info->ppid == parent_ && info->state != 'Z') ::kill(pid, SIGKILL);
        }
        pids_.clear();
    }

private:
    pid_t parent_;
    std::vector<pid_t> pids_;
};

// Runs `perThread` requests on each of `threads` threads; `make(thread, i)` builds each one.
std::vector<HttpResult> sendParallel(int threads, int perThread,
                                     const std::function<HttpRequest(int, int)>& make) {
    std::vector<std::vector<HttpResult>> results(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < perThread; ++i)
                results[static_cast<std::size_t>(t)].push_back(sendSafely(make(t, i)));
        });
    }
    for (auto& thread : pool) thread.join();
    std::vector<HttpResult> all;
    for (auto& part : results) all.insert(all.end(), part.begin(), part.end());
    return all;
}

std::string otherBackendsSql(const std::string& what) {
    return "SELECT " + what +
           " FROM pg_stat_activity WHERE datname = current_database() "
           "AND pid <> pg_backend_pid() AND backend_type = 'client backend'";
}

}  // namespace

TEST_CASE(
    "fault: PostgreSQL stopped under load gives quick JSON 503s and service resumes by itself") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("pg-load", leftovers);
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});  // must ride out the outage too
    StoppableService postgres("postgres");

    struct Sample {
        Clock::time_point started, finished;
        bool create = false;
        HttpResult result;
    };
    std::mutex samplesMutex;
    std::vector<Sample> samples;
    std::atomic<bool> running{true};
    auto client = [&](bool create) {
        // Bounded in count and time: at most 300 requests, paced 20 ms apart.
        for (int i = 0; i < 300 && running; ++i) {
            Sample sample;
            sample.create = create;
            sample.started = Clock::now();
            sample.result = sendSafely(create ? createRequest(uniqueDomainName("pg-load-new"))
                                              : getDomainRequest(domain.id));
            sample.finished = Clock::now();
            {
                std::lock_guard<std::mutex> lock(samplesMutex);
                samples.push_back(std::move(sample));
            }
            std::this_thread::sleep_for(20ms);
        }
    };

    const auto begin = Clock::now();
    std::vector<std::thread> clients;
    clients.emplace_back(client, false);
    clients.emplace_back(client, false);
    clients.emplace_back(client, true);
    Clock::time_point stopDone, startBegin, startDone;
    try {
        std::this_thread::sleep_for(300ms);
        postgres.stop();
        stopDone = Clock::now();
        std::this_thread::sleep_for(1500ms);
        startBegin = Clock::now();
        postgres.start();
        startDone = Clock::now();
        std::this_thread::sleep_for(1000ms);
    } catch (...) {
        running = false;
        for (auto& thread : clients) thread.join();
        throw;
    }
    running = false;
    for (auto& thread : clients) thread.join();
    MESSAGE("stop took " << std::chrono::duration<double>(stopDone - begin).count() - 0.3
                         << " s, start took "
                         << std::chrono::duration<double>(startDone - startBegin).count() << " s, "
                         << samples.size() << " requests in " << secondsSince(begin) << " s");

    int duringOutage = 0, unavailable = 0, succeeded = 0;
    double slowest = 0;
    for (const Sample& sample : samples) {
        const double seconds =
            std::chrono::duration<double>(sample.finished - sample.started).count();
        slowest = std::max(slowest, seconds);
        INFO((sample.create ? "POST /domains" : "GET /domains/{id}")
             << " -> " << sample.result.status << " " << sample.result.body);
        CHECK(isJsonAnswer(sample.result));
        const int okStatus = sample.create ? 201 : 200;
        CHECK((sample.result.status == okStatus || sample.result.status == 503));
        if (sample.result.status == okStatus) ++succeeded;
        if (sample.result.status == 503) {
            ++unavailable;
            CHECK(errorOf(sample.result) == "database unavailable");
        }
        // Entirely inside the outage: the database was down for the whole request.
        if (sample.started >= stopDone && sample.finished <= startBegin) {
            ++duringOutage;
            CHECK(sample.result.status == 503);
        }
    }
    MESSAGE(succeeded << " succeeded, " << unavailable << " answered 503 (" << duringOutage
                      << " entirely inside the outage), slowest " << slowest << " s");
    CHECK(duringOutage >= 3);

    // Back without restarting lighttpd: the handlers reconnect on their own.
    const auto recovery = Clock::now();
    HttpResult lastGet, lastCreate;
    const bool recovered = waitFor(
        5s,
        [&] {
            lastGet = sendSafely(getDomainRequest(domain.id));
            lastCreate = sendSafely(createRequest(uniqueDomainName("pg-load-after")));
            return lastGet.status == 200 && lastCreate.status == 201;
        },
        200ms);
    INFO("last GET: " << lastGet.status << " " << lastGet.body);
    INFO("last POST: " << lastCreate.status << " " << lastCreate.body);
    CHECK(recovered);
    MESSAGE("serving again " << secondsSince(recovery) << " s after the load ended");
    CHECK(lastGet.jsonString("id") == domain.id);
    CHECK(scheduler.running());
}

TEST_CASE("fault: sessions killed with pg_terminate_backend are re-established transparently") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("pg-kill", leftovers);

    // Warm up: parallel requests reach each handler process, which keeps its session open.
    const auto warmup = sendParallel(4, 5, [&](int thread, int i) {
        return (thread + i) % 2 == 0 ? getDomainRequest(domain.id)
                                     : createRequest(uniqueDomainName("pg-kill-warm"));
    });
    for (const auto& result : warmup)
        REQUIRE_MESSAGE((result.status == 200 || result.status == 201), result.body);
    // The sessions to kill, by pid: processes that open sessions of their own meanwhile (the
    // handlers' metric flushers) must not hide whether the kill took effect.
    const std::string killed = scalar(otherBackendsSql("coalesce(string_agg(pid::text, ','), '0')"));
    const long long before = count("SELECT count(*) FROM unnest('{" + killed + "}'::int[])");
    MESSAGE(before << " handler session(s) open before the kill");
    REQUIRE(before >= 2);

    // Counted against the sessions still there when the kill runs: one may end by itself after
    // the list was taken (a full run once saw 7 of 8), which is no failure of the kill.
    const std::string outcome =
        scalar("SELECT count(*) FILTER (WHERE done) || '/' || count(*) FROM (SELECT "
               "pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE pid IN (" +
               killed + ")) killed");
    const std::string present = outcome.substr(outcome.find('/') + 1);
    MESSAGE("sessions terminated / there at the kill: " << outcome);
    CHECK(outcome.substr(0, outcome.find('/')) == present);
    CHECK(std::stoll(present) >= 1);
    CHECK(waitFor(
        3s,
        [&] { return count("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + killed + ")") == 0; },
        50ms));

    // The first request of each process finds its session dead; it must reconnect and answer.
    const auto after = sendParallel(4, 5, [&](int, int) { return getDomainRequest(domain.id); });
    for (const auto& result : after) {
        INFO(result.status << " " << result.body);
        CHECK(result.status == 200);
        CHECK(isJsonAnswer(result));
    }
    const auto creates = sendParallel(
        4, 2, [&](int, int) { return createRequest(uniqueDomainName("pg-kill-new")); });
    for (const auto& result : creates) {
        INFO(result.status << " " << result.body);
        CHECK(result.status == 201);
    }
    CHECK(count(otherBackendsSql("count(*)")) >= 1);
}

// A PostgreSQL that takes no writes (SQLSTATE 25006): a standby libpq kept (the old primary
// rejoined as one behind a URL without target_session_attrs, a DNS name or a pooler still
// pointing at it), or a managed server gone default_transaction_read_only as its disk fills.
// Here the setting, reloaded: the handlers' open sessions take it at the reload. Every write is a
// JSON 503 with Retry-After (it was a 500 "internal error"), reads still answer, and writes go
// through again once the server takes them, with no restart.
TEST_CASE("fault: a PostgreSQL that takes no writes gives JSON 503s with Retry-After, then 201 "
          "once it takes them again") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("read-only", leftovers);
    // The whole server's, as an operator's would be; reset however the case ends (declared after
    // `leftovers`, whose clean-up writes).
    struct ReadOnlyServer {
        ReadOnlyServer() { reload("ALTER SYSTEM SET default_transaction_read_only = on"); }
        ~ReadOnlyServer() {
            try {
                end();
            } catch (...) {
            }
        }
        void end() { reload("ALTER SYSTEM RESET default_transaction_read_only"); }
        // ALTER SYSTEM takes no transaction block: a statement of its own.
        static void reload(const std::string& alter) {
            execute(alter);
            execute("SELECT pg_reload_conf()");
        }
    } readOnly;

    // The reload reaches each server process at its next statement.
    HttpResult refused;
    const bool refusing = waitFor(
        5s,
        [&] {
            refused = sendSafely(createRequest(uniqueDomainName("read-only-refused")));
            return refused.status != 201;
        },
        100ms);
    INFO("first POST refused: " << refused.status << " " << refused.body);
    REQUIRE(refusing);
    CHECK(refused.status == 503);
    // Several handler processes, each refused the same way; nothing written.
    const std::string refusedPrefix = "read-only-" + dnsh::randomHex(4);
    const auto answers = sendParallel(
        4, 2, [&](int, int) { return createRequest(uniqueDomainName(refusedPrefix)); });
    for (const HttpResult& answer : answers) {
        INFO("POST /domains -> " << answer.status << " " << answer.body);
        CHECK(answer.status == 503);
        CHECK(isJsonAnswer(answer));
        CHECK(errorOf(answer) == "database unavailable");
        CHECK(answer.retryAfterSeconds() >= 1);
    }
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name LIKE " +
                quoted(refusedPrefix + "-%")) == 0);
    // Reads need no writable server.
    CHECK(sendSafely(getDomainRequest(domain.id)).status == 200);

    readOnly.end();
    HttpResult created;
    std::vector<int> meanwhile;  // statuses until the first 201
    const bool writing = waitFor(
        5s,
        [&] {
            created = sendSafely(createRequest(uniqueDomainName("read-only-after")));
            meanwhile.push_back(created.status);
            return created.status == 201;
        },
        100ms);
    INFO("last POST: " << created.status << " " << created.body);
    CHECK(writing);
    for (const int status : meanwhile) CHECK((status == 201 || status == 503));
}

TEST_CASE("fault: a handler killed mid-request gives a JSON 5xx and is respawned") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("kill-handler", leftovers);
    REQUIRE(get("/domains/" + domain.id).status == 200);

    const pid_t lighttpd = lighttpdPid();
    // A listening socket's Recv-Q is its accept queue's length.
    const auto queuedAtAHandler = [] {
        std::istringstream lines(runCommand("ss -xlH").output);
        for (std::string line; std::getline(lines, line);) {
            if (line.find("get_domain") == std::string::npos) continue;
            std::istringstream fields(line);
            std::string netid, state;
            long receiveQueue = 0;
            if (fields >> netid >> state >> receiveQueue && receiveQueue > 0) return true;
        }
        return false;
    };

    HttpResult midRequest;
    std::vector<pid_t> killedHandlers;
    bool killedMidRequest = false;
    // Up to three tries: once (1 in ~3 full runs after the PostgreSQL fault cases) the request
    // was answered without reaching the stopped handlers; what answered it is printed, and the
    // handlers are let go unharmed to try again.
    for (int attempt = 1; attempt <= 3 && !killedMidRequest; ++attempt) {
        const std::vector<pid_t> handlers = handlerProcesses(lighttpd, "get_domain");
        MESSAGE("try " << attempt << ": " << handlers.size()
                       << " get_domain process(es) under lighttpd " << lighttpd);
        REQUIRE(!handlers.empty());
        FrozenHandlers frozen(lighttpd, handlers);
        auto pending =
            std::async(std::launch::async, [&] { return sendSafely(getDomainRequest(domain.id)); });
        // Every get_domain handler is stopped: the request waits in the accept queue of one of
        // their sockets until they are killed.
        const bool queued = waitFor(10s, [&] {
            return queuedAtAHandler() ||
                   pending.wait_for(0s) == std::future_status::ready;
        }) && pending.wait_for(0s) != std::future_status::ready;
        if (!queued) {
            frozen.thaw();
            REQUIRE(pending.wait_for(15s) == std::future_status::ready);
            const HttpResult early = pending.get();
            MESSAGE("try " << attempt << ": the request never reached a stopped handler; "
                           << "answered " << early.status << " " << early.body);
            std::this_thread::sleep_for(2s);
            continue;
        }
        frozen.killAll();
        REQUIRE(pending.wait_for(15s) == std::future_status::ready);
        midRequest = pending.get();
        killedHandlers = handlers;
        killedMidRequest = true;
    }
    REQUIRE_MESSAGE(killedMidRequest, "in three tries the request never reached a stopped handler");
    INFO("mid-request answer: " << midRequest.status << " " << midRequest.body);
    CHECK(midRequest.status >= 500);
    CHECK(midRequest.status <= 599);
    CHECK(isJsonAnswer(midRequest));
    CHECK_FALSE(errorOf(midRequest).empty());

    // lighttpd respawns the handlers; every answer meanwhile is JSON too.
    const auto killed = Clock::now();
    std::vector<HttpResult> meanwhile;
    const bool served = waitFor(
        5s,
        [&] {
            meanwhile.push_back(sendSafely(getDomainRequest(domain.id)));
            return meanwhile.back().status == 200;
        },
        100ms);
    for (const auto& result : meanwhile) {
        INFO(result.status << " " << result.body);
        CHECK(isJsonAnswer(result));
    }
    REQUIRE(served);
    CHECK(meanwhile.back().jsonString("id") == domain.id);
    MESSAGE("served again after " << secondsSince(killed) << " s, " << meanwhile.size()
                                  << " request(s)");
    const std::vector<pid_t> respawned = handlerProcesses(lighttpd, "get_domain");
    CHECK(!respawned.empty());
    for (pid_t pid : respawned)
        CHECK(std::find(killedHandlers.begin(), killedHandlers.end(), pid) ==
              killedHandlers.end());
}

TEST_CASE("fault: CA unreachable at issue-certificate gives 502 and leaves the domain verified") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("ca-down", leftovers);
    const auto started = Clock::now();
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains/" + domain.id + "/issue-certificate";
    request.env = {{"ACME_DIRECTORY", "https://127.0.0.1:9/dir"},  // nothing listens there
                   {"ACME_CA_BUNDLE", requireEnv("ACME_CA_BUNDLE")},
                   {"KEY_ENCRYPTION_KEY_FILE", requireEnv("KEY_ENCRYPTION_KEY_FILE")}};
    const HttpResult result = runCgi("issue_certificate", request);
    INFO(result.status << " " << result.body);
    MESSAGE("answered in " << secondsSince(started) << " s");
    CHECK(result.status == 502);
    CHECK(isJsonAnswer(result));
    CHECK(errorOf(result).find("CA") != std::string::npos);
    CHECK(domainStatus(domain) == "verified");
    CHECK(get("/domains/" + domain.id).jsonString("status") == "verified");
    CHECK(orderCount(domain) == 0);
}

TEST_CASE("fault: a restarted Pebble leads to a fresh order, not a failure or a loop") {
    Leftovers leftovers;
    StoppableService pebble("pebble");
    const std::string directory = requireEnv("ACME_DIRECTORY");
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});
    const TestDomain domain = verifiedDomain("pebble-restart", leftovers);
    const std::string first = startIssuance(domain);
    REQUIRE(count("SELECT count(*) FROM acme_accounts WHERE directory_url = " +
                  quoted(directory)) == 1);

    pebble.stop();
    // The scheduler works on the order during the outage (its lookup, which sees the
    // verification token, is recorded) and keeps the domain pending.
    REQUIRE(waitFor(15s, [&] {
        return scalar("SELECT last_check FROM domains WHERE id = " + quoted(domain.id))
                   .find("txt_mismatch") != std::string::npos;
    }));
    CHECK(domainStatus(domain) == "certificate_pending");
    pebble.start();  // same ports, every account and order forgotten
    CHECK(domainStatus(domain) == "certificate_pending");

    // Publish whatever the API currently asks for; the scheduler must notice the CA forgot the
    // first order and place a new one (new TXT value).
    const auto started = Clock::now();
    std::vector<std::string> published;
    std::string status;
    const bool settled = waitFor(
        30s,
        [&] {
            const HttpResult current = sendSafely(getDomainRequest(domain.id));
            if (current.status != 200) return false;
            status = current.jsonString("status");
            if (status == "active" || status == "failed") return true;
            const std::string value = current.jsonString("expected_txt_value");
            if (!value.empty() && (published.empty() || published.back() != value)) {
                publish(domain, value);
                published.push_back(value);
            }
            return false;
        },
        200ms);
    INFO("domain: " << domainSummary(domain));
    INFO("values published: " << published.size());
    REQUIRE(settled);
    REQUIRE(status == "active");
    MESSAGE("active " << secondsSince(started) << " s after Pebble came back; " << published.size()
                      << " value(s) published, " << orderCount(domain) << " order(s)");
    CHECK(published.size() >= 2);  // the first value, then the new order's
    CHECK(published.front() == first);
    CHECK(orderCount(domain) >= 2);
    CHECK(orderCount(domain) <= 3);
    CHECK(certificateCount(domain) == 1);
    CHECK(count("SELECT count(*) FROM acme_accounts WHERE directory_url = " + quoted(directory)) ==
          1);
    CHECK(scheduler.running());
    checkStoredKeyMatches(domain);
}

TEST_CASE(
    "fault: the database refusing the certificate insert is retried on the same valid order, "
    "and an error that keeps coming back ends in failed") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("cert-refused", leftovers);
    const TestDomain stuck = verifiedDomain("cert-refused-always", leftovers);
    const std::string function = "fault_refuse_cert_" + domain.id.substr(0, 8);
    struct TriggerGuard {
        std::string function;
        ~TriggerGuard() {
            try {
                execute("DROP TRIGGER IF EXISTS " + function +
                        " ON certificates; "
                        "DROP FUNCTION IF EXISTS " +
                        function + "()");
            } catch (...) {
            }
        }
    } guard{function};
    // Only these domains' certificates are refused: nothing else in the database is affected.
    auto refuse = [&](const std::string& ids) {
        execute("CREATE OR REPLACE FUNCTION " + function +
                "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.domain_id IN (" +
                ids +
                ") THEN RAISE EXCEPTION 'refused by test'; END IF; "
                "RETURN NEW; END $$; "
                "CREATE OR REPLACE TRIGGER " +
                function +
                " BEFORE INSERT ON certificates FOR EACH ROW "
                "EXECUTE FUNCTION " +
                function + "()");
    };
    refuse(idList({domain, stuck}));

    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "300ms"}});
    publish(domain, startIssuance(domain));
    publish(stuck, startIssuance(stuck));
    const std::string id = quoted(domain.id);
    // The first refusal counts one attempt and leaves the order where it was.
    const bool refusedOnce = waitFor(
        25s, [&] { return count("SELECT attempts FROM acme_orders WHERE domain_id = " + id) >= 1; },
        50ms);
    INFO("domain: " << domainSummary(domain));
    REQUIRE(refusedOnce);
    refuse(quoted(stuck.id));  // from now on only the other domain is refused
    CHECK(scalar("SELECT step FROM acme_orders WHERE domain_id = " + id) == "await_order");
    CHECK(countLogLines(scheduler.logFile(),
                        {"order step will be retried", domain.id, "refused by test"}) >= 1);
    CHECK(domainStatus(domain) == "certificate_pending");
    CHECK(certificateCount(domain) == 0);

    const bool active = waitFor(15s, [&] {
        const std::string status = domainStatus(domain);
        return status == "active" || status == "failed";
    });
    REQUIRE(active);
    REQUIRE_MESSAGE(domainStatus(domain) == "active", domainSummary(domain));
    CHECK(certificateCount(domain) == 1);
    CHECK(orderCount(domain) == 1);  // the valid order was fetched again, not replaced
    CHECK(scalar("SELECT status FROM acme_orders WHERE domain_id = " + id) == "valid");
    // The key stored with the certificate is the one persisted for the order before finalize.
    CHECK(count("SELECT count(*) FROM certificates c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE c.domain_id = " +
                id + " AND c.private_key_ciphertext = o.cert_key_ciphertext") == 1);
    checkStoredKeyMatches(domain);

    // Refused every time: a bounded number of attempts, then failed with the reason.
    REQUIRE(waitFor(20s, [&] { return domainStatus(stuck) == "failed"; }));
    CHECK(scalar("SELECT error_code FROM domains WHERE id = " + quoted(stuck.id)) == "internal");
    CHECK(scalar("SELECT error FROM domains WHERE id = " + quoted(stuck.id))
              .find("refused by test") != std::string::npos);
    CHECK(count("SELECT attempts FROM acme_orders WHERE domain_id = " + quoted(stuck.id)) == 3);
    CHECK(certificateCount(stuck) == 0);
}

// A full disk refusing the certificate insert (SQLSTATE 53100 disk_full; any of classes 53 and
// 58 alike) is the operator's to fix, not the order's fault, as the KEK file's mode is: no
// attempt is counted, the customer's error holds none of PostgreSQL's text, and the certificate
// the CA issued is stored once there is room. Before, three refusals ended the order failed with
// "internal error: ... No space left on device" and the certificate was thrown away.
TEST_CASE(
    "fault: a full disk refusing the certificate insert counts no attempt, and the order "
    "completes once there is room") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("cert-disk-full", leftovers);
    const std::string function = "fault_disk_full_" + domain.id.substr(0, 8);
    struct TriggerGuard {
        std::string function;
        ~TriggerGuard() {
            try {
                drop();
            } catch (...) {
            }
        }
        void drop() {
            execute("DROP TRIGGER IF EXISTS " + function + " ON certificates; " +
                    "DROP FUNCTION IF EXISTS " + function + "()");
        }
    } guard{function};
    // Only this domain's certificate is refused, as PostgreSQL refuses a write it has no room
    // for (the message is PostgreSQL's, paths and all).
    execute("CREATE OR REPLACE FUNCTION " + function +
            "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.domain_id = " +
            quoted(domain.id) +
            " THEN RAISE EXCEPTION 'could not extend file \"base/16384/2619\": No space left "
            "on device' USING ERRCODE = 'disk_full'; END IF; "
            "RETURN NEW; END $$; "
            "CREATE OR REPLACE TRIGGER " +
            function + " BEFORE INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION " +
            function + "()");

    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "300ms"}});
    publish(domain, startIssuance(domain));
    const std::string id = quoted(domain.id);
    const std::string orderId = scalar("SELECT id FROM acme_orders WHERE domain_id = " + id);
    const auto attempts = [&] {
        return count("SELECT attempts FROM acme_orders WHERE domain_id = " + id);
    };
    // Each refusal is a step given back, logged with the reason in plain words.
    const auto refusals = [&] {
        return countLogLines(scheduler.logFile(), {"step failed", orderId, "its disk is full"});
    };
    const bool refusedTwice =
        waitFor(25s, [&] { return refusals() >= 2 || attempts() >= 1; }, 50ms);
    INFO("domain: " << domainSummary(domain));
    REQUIRE(refusedTwice);
    CHECK(attempts() == 0);
    CHECK(refusals() >= 2);
    CHECK(scalar("SELECT step FROM acme_orders WHERE domain_id = " + id) == "await_order");
    CHECK(domainStatus(domain) == "certificate_pending");
    CHECK(certificateCount(domain) == 0);
    // Nothing of PostgreSQL's text where the customer reads, nor in the step's line.
    CHECK(scalar("SELECT coalesce(error, '') FROM domains WHERE id = " + id) == "");
    CHECK(scalar("SELECT coalesce(error, '') FROM acme_orders WHERE domain_id = " + id) == "");
    CHECK(countLogLines(scheduler.logFile(), {"step failed", orderId, "No space left"}) == 0);
    CHECK(countLogLines(scheduler.logFile(), {"order step will be retried", domain.id}) == 0);
    // The operator's log has it, with the SQLSTATE.
    CHECK(countLogLines(scheduler.logFile(), {"database short of resources", "53100",
                                              "No space left on device"}) >= 1);

    guard.drop();  // room again
    const bool settled = waitFor(15s, [&] {
        const std::string status = domainStatus(domain);
        return status == "active" || status == "failed";
    });
    REQUIRE(settled);
    REQUIRE_MESSAGE(domainStatus(domain) == "active", domainSummary(domain));
    CHECK(certificateCount(domain) == 1);
    CHECK(orderCount(domain) == 1);  // the CA's certificate of the same order, not a new one
    CHECK(attempts() == 0);
    checkStoredKeyMatches(domain);
}

TEST_CASE(
    "fault: a dead replica's lease is taken over only when it expires and every late write is "
    "refused") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("lease", leftovers);
    publish(domain, startIssuance(domain));
    const std::string id = quoted(domain.id);
    const std::string orderId = scalar("SELECT id FROM acme_orders WHERE domain_id = " + id);
    const std::string snapshotSql =
        "SELECT concat_ws('|', d.status, coalesce(d.error, '-'), d.updated_at) || ' orders: ' || "
        "(SELECT string_agg(concat_ws(':', o.id, o.status, o.step, o.lease_owner, "
        "o.lease_expires_at, o.next_attempt_at, o.attempts, o.updated_at, "
        "o.cert_key_ciphertext IS NULL), ',') FROM acme_orders o WHERE o.domain_id = d.id) || "
        "' certificates: ' || (SELECT count(*) FROM certificates c WHERE c.domain_id = d.id) "
        "FROM domains d WHERE d.id = " +
        id;

    execute(
        "UPDATE acme_orders SET lease_owner = 'dead-replica', "
        "lease_expires_at = now() + interval '3 seconds' WHERE id = " +
        quoted(orderId));
    const auto leased = Clock::now();

    // Owner guard: every write a step makes, from someone who does not hold the lease, throws
    // LeaseLost and changes nothing.
    const std::string before = scalar(snapshotSql);
    dnsh::Database database(databaseUrl());
    dnsh::StoredOrder order;
    order.id = orderId;
    order.domainId = domain.id;
    order.kind = dnsh::OrderKind::Issue;
    const std::string late = "not-the-owner";
    const std::vector<std::pair<std::string, std::function<void(dnsh::OrderStore&)>>> writes{
        {"load", [&](dnsh::OrderStore& s) { s.load(orderId, late); }},
        {"extendLease", [&](dnsh::OrderStore& s) { s.extendLease(orderId, late, 60000); }},
        {"release", [&](dnsh::OrderStore& s) { s.release(orderId, late, 0); }},
        {"setStep", [&](dnsh::OrderStore& s) { s.setStep(orderId, late, dnsh::OrderStep::Done); }},
        {"recordAttempt", [&](dnsh::OrderStore& s) { s.recordAttempt(orderId, late); }},
        {"markPublished",
         [&](dnsh::OrderStore& s) { s.markPublished(orderId, late, "https://ca/authz", "t."); }},
        {"recordCheck", [&](dnsh::OrderStore& s) { s.recordCheck(orderId, late, "{}"); }},
        {"setDelegationStatus",
         [&](dnsh::OrderStore& s) { s.setDelegationStatus(orderId, late, "lost"); }},
        {"saveCertKey", [&](dnsh::OrderStore& s) { s.saveCertKey(orderId, late, "x", "k"); }},
        {"recordPlaced", [&](dnsh::OrderStore& s) { s.recordPlaced(orderId, late, {}); }},
        {"storeCertificate",
         [&](dnsh::OrderStore& s) {
             s.storeCertificate(order, late,
                                {"0123456789abcdef0123456789abcdef", "leaf", "chain",
                                 "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 0, std::nullopt});
         }},
        {"fail", [&](dnsh::OrderStore& s) { s.fail(order, late, "late", dnsh::FailureCode::Internal, 0, 0); }},
        {"replace", [&](dnsh::OrderStore& s) { s.replace(order, late); }},
    };
    for (const auto& [name, write] : writes) {
        CAPTURE(name);
        bool refused = false;
        try {
            database.withSession([&](Poco::Data::Session& session) {
                dnsh::OrderStore store(session);
                write(store);
                return true;
            });
        } catch (const dnsh::LeaseLost&) {
            refused = true;
        }
        CHECK(refused);
        CHECK(scalar(snapshotSql) == before);
    }

    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});
    // The scheduler is up and polling (its first claim is logged at start) while the lease holds.
    REQUIRE(waitFor(2s, [&] { return scheduler.running(); }));
    std::this_thread::sleep_for(
        1500ms - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - leased));
    CHECK(domainStatus(domain) == "certificate_pending");
    CHECK(scalar("SELECT lease_owner FROM acme_orders WHERE id = " + quoted(orderId)) ==
          "dead-replica");
    CHECK(scalar(snapshotSql) == before);

    const bool settled = waitFor(
        20s,
        [&] {
            const std::string status = domainStatus(domain);
            return status == "active" || status == "failed";
        },
        200ms);
    INFO("domain: " << domainSummary(domain));
    REQUIRE(settled);
    REQUIRE(domainStatus(domain) == "active");
    MESSAGE("active " << secondsSince(leased) << " s after the dead replica's 3 s lease was set");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE id = " + quoted(orderId) +
                " AND updated_at < (SELECT lease_expires_at FROM acme_orders WHERE id = " +
                quoted(orderId) + ")") == 0);
    CHECK(scalar("SELECT coalesce(lease_owner, '') FROM acme_orders WHERE id = " +
                 quoted(orderId)) == "");
    CHECK(certificateCount(domain) == 1);
    CHECK(orderCount(domain) == 1);
}

TEST_CASE("fault: an order past the CA's expiry is replaced by a fresh one, not reused") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("order-expired", leftovers);
    const std::string first = startIssuance(domain);
    const std::string firstOrder =
        scalar("SELECT id FROM acme_orders WHERE domain_id = " + quoted(domain.id));
    REQUIRE(!scalar("SELECT expires_at FROM acme_orders WHERE id = " + quoted(firstOrder)).empty());
    execute("UPDATE acme_orders SET expires_at = now() - interval '1 second' WHERE id = " +
            quoted(firstOrder));
    publish(domain, first);  // the old value: it must not be used for the old order

    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});
    REQUIRE(waitFor(15s, [&] { return orderCount(domain) == 2; }));
    CHECK(scalar("SELECT status FROM acme_orders WHERE id = " + quoted(firstOrder)) == "replaced");
    std::string second;
    REQUIRE(waitFor(10s, [&] {
        second = sendSafely(getDomainRequest(domain.id)).jsonString("expected_txt_value");
        return !second.empty() && second != first;
    }));
    clearTxt(domain.challengeName());
    publish(domain, second);
    REQUIRE(waitFor(20s, [&] { return domainStatus(domain) == "active"; }));
    CHECK(orderCount(domain) == 2);
    CHECK(certificateCount(domain) == 1);
    CHECK(scalar("SELECT order_id FROM certificates WHERE domain_id = " + quoted(domain.id)) !=
          firstOrder);
}

TEST_CASE("fault: a CA that stays down is retried with growing delays in database time") {
    Leftovers leftovers;
    StoppableService pebble("pebble");
    const TestDomain domain = verifiedDomain("ca-backoff", leftovers);
    publish(domain, startIssuance(domain));
    pebble.stop();
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "100ms"}, {"POLL_TIMEOUT", "5m"}});
    // Each retry stores its next attempt in the order: 100, 200, 400, 800 ms after the attempt.
    const std::string sql =
        "SELECT attempts || ':' || coalesce((extract(epoch FROM next_attempt_at - updated_at) * "
        "1000)::bigint::text, '') FROM acme_orders WHERE domain_id = " +
        quoted(domain.id);
    std::map<int, long> delays;
    REQUIRE(waitFor(
        15s,
        [&] {
            const std::string row = scalar(sql);
            const auto colon = row.find(':');
            if (colon == std::string::npos || colon + 1 == row.size()) return false;
            const int attempts = std::stoi(row.substr(0, colon));
            const long delay = std::stol(row.substr(colon + 1));
            if (attempts > 0 && delay > 0) delays.emplace(attempts, delay);
            return delays.count(2) && delays.count(3) && delays.count(4);
        },
        10ms));
    for (int attempt = 3; attempt <= 4; ++attempt) {
        CAPTURE(attempt);
        // The write of next_attempt_at follows the attempt count by a few milliseconds.
        CHECK(delays[attempt] >= 2 * delays[attempt - 1] - 20);
        CHECK(delays[attempt] <= 2 * delays[attempt - 1] + 60);
    }
    CHECK(delays[4] >= 800);
    CHECK(domainStatus(domain) == "certificate_pending");  // retried, not failed
    scheduler.kill9();
}

TEST_CASE("fault: a CA that stays down past POLL_TIMEOUT ends in failed with ca_unreachable") {
    Leftovers leftovers;
    StoppableService pebble("pebble");
    const TestDomain domain = verifiedDomain("ca-timeout", leftovers);
    publish(domain, startIssuance(domain));
    pebble.stop();
    // POLL_TIMEOUT counts from when the order entered its step; stopping Pebble may take seconds.
    execute("UPDATE acme_orders SET step_started_at = now() WHERE domain_id = " +
            quoted(domain.id));
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "100ms"}, {"POLL_TIMEOUT", "2s"}});
    // Still retrying before POLL_TIMEOUT...
    REQUIRE_MESSAGE(waitFor(10s,
                            [&] {
                                return count("SELECT attempts FROM acme_orders WHERE domain_id = " +
                                             quoted(domain.id)) >= 2;
                            }),
                    domainSummary(domain) << "\n"
                                          << readFile(scheduler.logFile()));
    CHECK(domainStatus(domain) == "certificate_pending");
    // ...and failed, with the reason, once it has passed.
    REQUIRE(waitFor(15s, [&] { return domainStatus(domain) == "failed"; }));
    CHECK(scalar("SELECT error_code FROM domains WHERE id = " + quoted(domain.id)) ==
          "ca_unreachable");
    CHECK(scalar("SELECT status FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
          "invalid");
}
