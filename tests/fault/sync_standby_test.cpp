// README "PostgreSQL failover" runs PostgreSQL with a synchronous standby (synchronous_commit=on,
// synchronous_standby_names naming it). With that standby gone, the primary holds every COMMIT
// until it is back, and no statement_timeout applies to that wait: a registration waited for
// ever, where the README says no wait on the database is unbounded. Each commit now has a
// deadline of the service's own (from DB_STATEMENT_TIMEOUT); past it the wait is cancelled
// (PQcancel), the session dropped, and the request answers 503 "database unavailable" with
// Retry-After. Reads wait for nothing. Here: a primary and its synchronous standby of the test's
// own (tests/support/postgres_pair), a lighttpd of the test's own on the primary alone, the
// standby stopped, then started again.
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/api_server.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/postgres_pair.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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

}  // namespace

TEST_CASE(
    "fault: with the synchronous standby stopped a registration answers 503 at its commit "
    "deadline, reads are served, and registrations resume once the standby is back") {
    PostgresPair pair;
    const CommandResult migrated = runCommand("DATABASE_URL='" + pair.primaryUrl() + "' " +
                                              requireEnv("DNSH_ADMIN_BIN") + " migrate");
    REQUIRE_MESSAGE(migrated.exitCode == 0, migrated.output);
    // A 1 s statement timeout: the commit's deadline is a few seconds, well within the test
    // client's 30 s wait. The primary alone: no other host for libpq to try.
    ApiServer api("sync-standby",
                  {{"DATABASE_URL", pair.primaryUrl()}, {"DB_STATEMENT_TIMEOUT", "1s"}});

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
    const auto postedAt = Clock::now();
    const HttpResult away = registerName(api.baseUrl(), awayName);
    const double awaySeconds = std::chrono::duration<double>(Clock::now() - postedAt).count();
    CHECK_MESSAGE(away.status == 503, away.status << " " << away.body);
    if (away.status == 503) {
        CHECK(isJsonAnswer(away));
        CHECK(away.jsonString("error") == "database unavailable");
        CHECK(away.retryAfterSeconds() >= 1);
    }

    // A read-only transaction writes no commit record: nothing to wait for.
    const HttpResult read = send(api.baseUrl(), {"GET", "/domains/" + firstId, "", "", {}});
    CHECK_MESSAGE(read.status == 200, read.status << " " << read.body);
    CHECK(read.jsonString("id") == firstId);

    // The standby back: it reconnects and catches up by itself, and commits are acknowledged
    // again; nothing of the service is restarted. Each try a new name: the 503s in between may
    // have committed theirs (below).
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

    // The 503's registration is on the primary all the same: PostgreSQL writes and flushes the
    // commit record before it waits for the standby, and a cancelled wait ends with the
    // transaction committed locally (syncrep.c, SyncRepWaitForLSN: WARNING "canceling wait for
    // synchronous replication due to user request", DETAIL "The transaction has already committed
    // locally, but might not have been replicated to the standby."). So the 503 leaves the
    // outcome unknown, as any lost answer does (README "Database access"): a retry may find the
    // name taken (409), or, with the same Idempotency-Key, gets that registration again.
    CHECK(domainsNamed(pair.primaryUrl(), awayName) == 1);
    // That wait was ended by the service's cancel while the standby was away, not by its return
    // (which logs nothing of the kind).
    const bool cancelled = readFile(pair.primaryLogPath())
                               .find("canceling wait for synchronous replication") !=
                           std::string::npos;
    CHECK_MESSAGE(cancelled, "no cancelled wait in " << pair.primaryLogPath());
    MESSAGE("with the standby stopped, POST /domains answered " << away.status << " after "
            << awaySeconds << " s");
}
