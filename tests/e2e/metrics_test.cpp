// GET /metrics through lighttpd (issue 11, README "Metrics"): the exposition passes
// promtool, names no domain, and its values follow real actions: a registered domain, requests
// served by several handler processes (summed in PostgreSQL after their flushes), a scheduler's
// issuance and heartbeat.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "e2e_helpers.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// Handlers flush every 5 s (metrics/flusher.hpp): a bound well past that.
constexpr auto kFlushWait = 20s;

// X-Request-Id as a handler makes it when the client sent none: the process's prefix, a counter.
const std::regex kGeneratedRequestId(R"(^[0-9a-f]{32}$)");

std::string scrape() {
    const HttpResult result = get("/metrics");
    INFO("body: " << result.body.substr(0, 500));
    REQUIRE(result.status == 200);
    CHECK(result.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    return result.body;
}

// The value of one series (`name` or `name{labels}` exactly as exposed); nothing when absent.
std::optional<double> valueOf(const std::string& text, const std::string& series) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

double counterOf(const std::string& text, const std::string& series) {
    return valueOf(text, series).value_or(0);
}

// The sum of every series of a family's samples starting with `prefix` ("name{" or "name").
double sumOf(const std::string& text, const std::string& prefix) {
    double sum = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(prefix, 0) == 0) sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
}

// Scrapes until `read` gives at least `atLeast` or kFlushWait passes; the last value seen.
double awaitValue(const std::function<double(const std::string&)>& read, double atLeast) {
    double seen = 0;
    waitFor(
        kFlushWait,
        [&] {
            seen = read(scrape());
            return seen >= atLeast;
        },
        500ms);
    return seen;
}

double awaitCounter(const std::string& series, double atLeast) {
    return awaitValue([&](const std::string& text) { return counterOf(text, series); }, atLeast);
}

}  // namespace

TEST_CASE("metrics: a scrape through lighttpd passes promtool check metrics and names no domain") {
    const auto domain = e2e::registerDomain("metrics-lint");
    // A request per route family first, so the counters and histograms have rows to lint.
    get("/domains/" + domain.id);
    get("/healthz");
    const std::string text = scrape();
    TempDir dir;
    const std::string file = dir.write("scrape.txt", text);
    const CommandResult lint = runCommand("promtool check metrics < " + file);
    INFO("promtool: " << lint.output);
    CHECK(lint.exitCode == 0);
    CHECK(lint.output.find("error") == std::string::npos);
    // Every family the alert rules use is there.
    for (const char* name :
         {"dnsh_domains{status=\"pending\"}", "dnsh_certificates{expires_within=\"+Inf\"}",
          "dnsh_certificates_long_lived{expires_within=\"7d\"}",
          "dnsh_certificate_soonest_expiry_timestamp_seconds", "dnsh_renewals_due",
          "dnsh_renewals_overdue", "dnsh_certificates_renewal_failing",
          "dnsh_certificates_expired",
          "dnsh_orders_total{kind=\"issuance\",outcome=\"valid\"}",
          "dnsh_dns_lookups_total{result=\"found\"}", "dnsh_scheduler_replicas_alive",
          "dnsh_scheduler_last_heartbeat_timestamp_seconds",
          "dnsh_webhook_deliveries_total{outcome=\"dead\"}",
          "dnsh_database_commits_awaiting_standby"}) {
        CAPTURE(name);
        CHECK(valueOf(text, name).has_value());
    }
    // The configured CA's renewal failures, at 0 before the first (DnshRenewalOrdersFailed).
    CHECK(valueOf(text, "dnsh_orders_total{kind=\"renewal\",outcome=\"failed\",ca=\"" +
                            requireEnv("ACME_DIRECTORY") + "\"}")
              .has_value());
    CHECK(text.find(domain.id) == std::string::npos);
    CHECK(text.find(domain.name) == std::string::npos);
}

TEST_CASE("metrics: a registered domain moves dnsh_domains{status=pending}") {
    const std::string series = "dnsh_domains{status=\"pending\"}";
    const double before = counterOf(scrape(), series);
    e2e::registerDomain("metrics-gauge");
    // A gauge read from PostgreSQL at each scrape: no flush to wait for.
    CHECK(counterOf(scrape(), series) == before + 1);
}

TEST_CASE("metrics: requests served by several handler processes are all counted, by route") {
    const std::string unknown = "/domains/" + dnsh::randomHex(16);
    const std::string requests =
        "dnsh_http_requests_total{route=\"/domains/{id}\",method=\"GET\",status=\"404\"}";
    const std::string durations =
        "dnsh_http_request_duration_seconds_count{route=\"/domains/{id}\",method=\"GET\"}";
    const std::string text = scrape();
    const double requestsBefore = counterOf(text, requests);
    const double durationsBefore = counterOf(text, durations);

    // 8 clients at once: lighttpd spreads them over the get_domain processes
    // (DNSH_READ_HANDLER_PROCS, dnsh-admin handler-procs).
    constexpr int kClients = 8, kEach = 10;
    std::atomic<int> answered404{0};
    std::vector<std::vector<std::string>> requestIds(kClients);  // each client's own
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; i < kEach; ++i) {
                const HttpResult answer = get(unknown);
                if (answer.status == 404) ++answered404;
                requestIds[c].push_back(answer.header("X-Request-Id"));
            }
        });
    for (auto& client : clients) client.join();
    REQUIRE(answered404 == kClients * kEach);
    // Which process answered: a request id the handler makes itself starts with a random
    // prefix of its process (http/request.cpp, newRequestId: 16 hex digits, then a counter).
    std::map<std::string, int> answersByProcess;
    for (const auto& ids : requestIds)
        for (const auto& id : ids) {
            CAPTURE(id);
            REQUIRE(std::regex_match(id, kGeneratedRequestId));
            ++answersByProcess[id.substr(0, 16)];
        }
    std::ostringstream spread;
    for (const auto& [process, answers] : answersByProcess)
        spread << process << ": " << answers << "; ";
    MESSAGE("answers by get_domain process: " << spread.str());
    CHECK(answersByProcess.size() >= 2);
    // A prefix names a process, not a request: some process answered several.
    CHECK(answersByProcess.size() < static_cast<std::size_t>(kClients * kEach));

    CHECK(awaitCounter(requests, requestsBefore + kClients * kEach) ==
          requestsBefore + kClients * kEach);
    // ">=": a request of an earlier case may land in the same flush window.
    CHECK(counterOf(scrape(), durations) >= durationsBefore + kClients * kEach);
    // The route is the table's pattern: the raw path is nowhere.
    CHECK(scrape().find(unknown) == std::string::npos);
}

TEST_CASE("metrics: a scheduler's issuance moves dnsh_orders_total and the step histogram") {
    // Whichever CA it went to: the series of each CA (label ca), and the one without a CA.
    const auto valid = [](const std::string& text) {
        return sumOf(text, "dnsh_orders_total{kind=\"issuance\",outcome=\"valid\"");
    };
    // Every step observed, whichever it was (a step may chain into the next within one claim).
    const auto steps = [](const std::string& text) {
        return sumOf(text, "dnsh_order_step_duration_seconds_count{");
    };
    const std::string text = scrape();
    const double validBefore = valid(text);
    const double stepsBefore = steps(text);

    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("metrics-issue", leftovers);
    const std::string value = startIssuance(domain);
    publish(domain, value);
    const auto scheduler = startScheduler();
    // The heartbeat is written as the scheduler starts, then every 5 s: its own row (a replica
    // of an earlier case may still be within its 60 s), and the gauge counts it. Its name is
    // host:pid:<random> (issuance/replica_name.hpp).
    const std::string ownBeat = "SELECT count(*) FROM scheduler_heartbeats WHERE replica LIKE '%:" +
                                std::to_string(scheduler->pid()) +
                                ":%' AND last_seen_at > now() - interval '60 seconds'";
    CHECK(waitFor(kFlushWait, [&] { return count(ownBeat) == 1; }));
    CHECK(counterOf(scrape(), "dnsh_scheduler_replicas_alive") >= 1);
    requireAllActive({domain}, 60s);

    CHECK(awaitValue(valid, validBefore + 1) == validBefore + 1);
    CHECK(counterOf(scrape(), "dnsh_orders_total{kind=\"issuance\",outcome=\"valid\",ca=\"" +
                                  requireEnv("ACME_DIRECTORY") + "\"}") >= 1);
    CHECK(awaitValue(steps, stepsBefore + 1) > stepsBefore);
    const std::string after = scrape();
    CHECK(counterOf(after, "dnsh_scheduler_last_heartbeat_timestamp_seconds") > 0);
    CHECK(counterOf(after, "dnsh_certificates{expires_within=\"+Inf\"}") >= 1);
    CHECK(after.find(domain.id) == std::string::npos);
}
