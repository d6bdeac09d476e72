// README "PostgreSQL failover" runs PostgreSQL with a synchronous standby (synchronous_commit=on,
// synchronous_standby_names naming it). With that standby gone, the primary holds every COMMIT
// until it is back, and no statement_timeout applies to that wait: a registration waited for
// ever, where the README says no wait on the database is unbounded. Each commit now has a
// deadline of the service's own (DB_STATEMENT_TIMEOUT; twice it for a statement outside a
// transaction block): past it the request answers 503 "database unavailable" with Retry-After,
// the server's wait left to go on (the write invisible until the standby confirms it), and the
// process holds its writes back (refused at once) until a probe finds commits confirmed.
// Reads wait for nothing. Here: a primary and its synchronous standby of the test's own
// (tests/support/postgres_pair), a lighttpd of the test's own on the primary alone, the standby
// stopped, then started again (shared/db/commit_wait.hpp). Operators see the waits in
// /metrics: dnsh_database_commits_awaiting_standby (metrics/exposition.cpp).
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/api_server.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/postgres_pair.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// POST /domains for `name`. A request the client gave up on (its 30 s wait, support/http_client)
// is status 0 with the reason as body, so the case says what happened rather than throwing.
HttpResult registerName(const std::string& baseUrl, const std::string& name) {
    try {
        return send(baseUrl, {"POST", "/domains", "{\"domain_name\": \"" + name + "\"}",
                              "application/json", {}});
    } catch (const std::exception& e) {
        HttpResult unanswered;
        unanswered.body = std::string("no answer: ") + e.what();
        return unanswered;
    }
}

// The rows of `domains` named `name`, as the server at `url` shows them to a libpq connection of
// the test's own (not the service's code: what is checked must not depend on what is tested).
long long domainsNamed(const std::string& url, const std::string& name) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
        PQconnectdb((url + "?connect_timeout=2").c_str()), &PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK)
        throw std::runtime_error(PQerrorMessage(connection.get()));
    const char* values[] = {name.c_str()};
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexecParams(connection.get(), "SELECT count(*) FROM domains WHERE domain_name = $1", 1,
                     nullptr, values, nullptr, nullptr, 0),
        &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
        throw std::runtime_error(PQerrorMessage(connection.get()));
    return std::stoll(PQgetvalue(result.get(), 0, 0));
}

// `sql` on the server at `url`, on a libpq connection of the test's own.
void runOn(const std::string& url, const std::string& sql) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
        PQconnectdb((url + "?connect_timeout=2").c_str()), &PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK)
        throw std::runtime_error(PQerrorMessage(connection.get()));
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexec(connection.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK)
        throw std::runtime_error(PQerrorMessage(connection.get()));
}

// dnsh_database_commits_awaiting_standby as GET /metrics exposes it; nothing when the scrape
// failed or has no such sample.
std::optional<double> commitsAwaitingStandby(const std::string& baseUrl) {
    const std::string series = "dnsh_database_commits_awaiting_standby ";
    const HttpResult scrape = send(baseUrl, {"GET", "/metrics", "", "", {}});
    if (scrape.status != 200) return std::nullopt;
    std::istringstream lines(scrape.body);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(series, 0) == 0) return std::stod(line.substr(series.size()));
    return std::nullopt;
}

}  // namespace

TEST_CASE(
    "fault: with the synchronous standby stopped writes answer 503 at their commit deadline, "
    "stay unseen until it is back, later writes are held back until a probe is confirmed, reads "
    "are served") {
    PostgresPair pair;
    const CommandResult migrated = runCommand("DATABASE_URL='" + pair.primaryUrl() + "' " +
                                              requireEnv("DNSH_ADMIN_BIN") + " migrate");
    REQUIRE_MESSAGE(migrated.exitCode == 0, migrated.output);
    // A 1 s statement timeout: the deadlines are 1 s (a COMMIT) and 2 s (a registration's
    // INSERT, outside a transaction block), well within the test client's 30 s wait. The
    // primary alone: no other host for libpq to try. No metrics flush within the case: the
    // handlers' first write is the request's own.
    ApiServer api("sync-standby", {{"DATABASE_URL", pair.primaryUrl()},
                                   {"DB_STATEMENT_TIMEOUT", "1s"},
                                   {"METRICS_FLUSH_INTERVAL", "1h"}});

    // An empty database beside it, for a migrate run while the standby is away (below).
    runOn(pair.primaryUrl(), "CREATE DATABASE dnsh_later");
    std::string laterUrl = pair.primaryUrl();
    laterUrl.replace(laterUrl.rfind("/dnsh"), 5, "/dnsh_later");
    const std::string migrateLater = "DB_STATEMENT_TIMEOUT=1s DATABASE_URL='" + laterUrl + "' " +
                                     requireEnv("DNSH_ADMIN_BIN") + " migrate";

    // The standby there: the commit is acknowledged once it has flushed it.
    const HttpResult first = registerName(api.baseUrl(), uniqueDomainName("sync-standby-before"));
    REQUIRE_MESSAGE(first.status == 201, first.status << " " << first.body);
    const std::string firstId = first.jsonString("id");

    // The standby gone (synchronous_standby_names still names it): every commit on the primary
    // waits for it. Before the deadline this registration waited as long as the standby was
    // away, and the client gave up after its 30 s (status 0 here). Checked, not required: the
    // case goes on and starts the standby again, which ends such a wait, so nothing is left
    // hanging when lighttpd and the servers are stopped.
    pair.stopStandby();
    const std::string awayName = uniqueDomainName("sync-standby-away");
    const HttpResult away = registerName(api.baseUrl(), awayName);
    CHECK_MESSAGE(away.status == 503, away.status << " " << away.body);
    if (away.status == 503) {
        CHECK(isJsonAnswer(away));
        CHECK(away.jsonString("error") == "database unavailable");
        CHECK(away.retryAfterSeconds() >= 1);
    }
    // Its transaction waits on, unseen: not cancelled, which would have made it on the primary
    // alone, for a retry to be answered from and a failover to lose.
    CHECK(domainsNamed(pair.primaryUrl(), awayName) == 0);
    // The operator's signal, where /readyz stays 200: the scrape (another process, reads
    // only, so it waits for nothing) counts the service's sessions waiting for the standby.
    const std::optional<double> awaiting = commitsAwaitingStandby(api.baseUrl());
    CHECK_MESSAGE(awaiting.value_or(-1) >= 1,
                  "dnsh_database_commits_awaiting_standby: "
                      << (awaiting ? std::to_string(*awaiting) : "absent"));

    // The registration process holds its writes back now: the next one is refused at once,
    // never sent, so it is not made even once the standby is back (below).
    const std::string heldName = uniqueDomainName("sync-standby-held");
    const HttpResult held = registerName(api.baseUrl(), heldName);
    CHECK_MESSAGE(held.status == 503, held.status << " " << held.body);
    if (held.status == 503) CHECK(held.jsonString("error") == "database unavailable");

    // A transaction's COMMIT (DELETE runs in one), in another process: 503 at its deadline, the
    // domain still there for everyone else meanwhile.
    const HttpResult removal =
        send(api.baseUrl(), {"DELETE", "/domains/" + firstId, "", "", {}});
    CHECK_MESSAGE(removal.status == 503, removal.status << " " << removal.body);

    // A read-only transaction writes no commit record: nothing to wait for.
    const HttpResult read = send(api.baseUrl(), {"GET", "/domains/" + firstId, "", "", {}});
    CHECK_MESSAGE(read.status == 200, read.status << " " << read.body);

    // Past the probe interval (5 s): the registration process probes before the next write.
    // The standby still away, the probe is not confirmed, so that write is refused all the same,
    // never made (below); a probe taken for confirmed would have let it wait on and be made.
    std::this_thread::sleep_for(6s);
    const std::string probedName = uniqueDomainName("sync-standby-probed");
    const HttpResult probed = registerName(api.baseUrl(), probedName);
    CHECK_MESSAGE(probed.status == 503, probed.status << " " << probed.body);

    // dnsh-admin migrate: its first migration's COMMIT unanswered, 75 at its bound rather than
    // a wait for as long as the standby is away (`timeout` stands for the operator's patience:
    // 124 without the bound).
    const CommandResult pending = runCommand("timeout 20 env " + migrateLater);
    CHECK_MESSAGE(pending.exitCode == 75, pending.output);

    // The standby back: it reconnects and catches up by itself, the waiting commits are
    // confirmed, and the held-back process's next probe (every 5 s) finds commits confirmed;
    // nothing of the service is restarted. Each try a new name.
    pair.startStandby();
    HttpResult back;
    const bool registering = waitFor(
        30s,
        [&] {
            back = registerName(api.baseUrl(), uniqueDomainName("sync-standby-back"));
            return back.status == 201;
        },
        200ms);
    CHECK_MESSAGE(registering, "after the standby's return: " << back.status << " " << back.body);

    // The writes left waiting are made once the standby confirms them: the 503 left their
    // outcome unknown, as any lost answer does (README "Database access"). The held-back one
    // was never sent.
    CHECK(domainsNamed(pair.primaryUrl(), awayName) == 1);
    CHECK(domainsNamed(pair.primaryUrl(), heldName) == 0);
    CHECK(domainsNamed(pair.primaryUrl(), probedName) == 0);
    // The migration left waiting was made at the standby's return; a run now applies the rest.
    const CommandResult later = runCommand(migrateLater);
    CHECK_MESSAGE(later.exitCode == 0, later.output);
    // Every wait confirmed, none counted. Polled: a backend the standby's confirmation released
    // shows its wait until it next runs.
    std::optional<double> settled;
    const bool noneAwaiting = waitFor(10s, [&] {
        settled = commitsAwaitingStandby(api.baseUrl());
        return settled == 0.0;
    });
    CHECK_MESSAGE(noneAwaiting, "dnsh_database_commits_awaiting_standby: "
                                    << (settled ? std::to_string(*settled) : "absent"));
    // The probe's wait (above) was cancelled: PostgreSQL's WARNING is a log line of its own,
    // JSON, not libpq's raw text on the handler's stderr.
    const std::string handlersLog = readFile(api.handlersLog().string());
    CHECK(handlersLog.find("\"msg\":\"database notice\"") != std::string::npos);
    CHECK(handlersLog.find("\nWARNING:  canceling wait for synchronous replication") ==
          std::string::npos);
    const HttpResult gone = send(api.baseUrl(), {"GET", "/domains/" + firstId, "", "", {}});
    CHECK_MESSAGE(gone.status == 404, gone.status << " " << gone.body);
}
