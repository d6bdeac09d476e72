// A statement PostgreSQL refuses because of the server's state, not the statement's: a server
// that takes no writes (25006, a standby or default_transaction_read_only; 57P03) and one short
// of disk, memory or connections (classes 53 and 58). Database::withSession makes them the
// retryable 503s (Error(DatabaseUnavailable), Error(DatabaseTimeout)) the scheduler counts no
// attempt for; a read-only connection is closed, so the next use connects again (libpq picks a
// writable host then, target_session_attrs). Before, each was a plain SqlError: a 500 with
// PostgreSQL's text, an attempt counted, and a session kept on the read-only server for good.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/captured_stderr.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

// How a statement run through withSession failed: an Error's code and message, or an SqlError's
// SQLSTATE and text; neither when it succeeded.
struct Outcome {
    std::optional<ErrorCode> code;
    std::string sqlState;
    std::string text;
};

Outcome outcomeOf(Database& database, const std::string& sql) {
    try {
        database.withSession([&](Poco::Data::Session& session) {
            executeScript(session, sql);
            return true;
        });
    } catch (const Error& e) {
        return {e.code(), "", e.what()};
    } catch (const SqlError& e) {
        return {std::nullopt, e.sqlState(), e.displayText()};
    }
    return {};
}

// The server process of the database's session (it opens one when there is none).
std::string backendPid(Database& database) {
    return database.withSession([](Poco::Data::Session& session) {
        return runSql(session, "SELECT pg_backend_pid()::text AS pid").text(0, "pid");
    });
}

// A PL/pgSQL error with `condition` (PostgreSQL Appendix A) and `message` as its text.
std::string raising(const std::string& condition, const std::string& message) {
    return "DO $$ BEGIN RAISE EXCEPTION '" + message + "' USING ERRCODE = '" + condition +
           "'; END $$";
}

}  // namespace

TEST_CASE("database: a connection that takes no writes is closed, a 503 database unavailable, and "
          "the next use connects again") {
    Database database(databaseUrl());
    const std::string table = "db_state_never_" + randomHex(4);
    // As a standby or default_transaction_read_only does, for this session only.
    const std::string readOnlyPid = backendPid(database);
    database.withSession([](Poco::Data::Session& session) {
        executeScript(session, "SET default_transaction_read_only = on");
        return true;
    });
    Outcome refused;
    const std::string log = capturedStderr(
        [&] { refused = outcomeOf(database, "CREATE TABLE " + table + " (id int)"); });
    INFO("log: " << log);
    CAPTURE(refused.sqlState);
    CAPTURE(refused.text);
    REQUIRE(refused.code.has_value());
    CHECK(*refused.code == ErrorCode::DatabaseUnavailable);
    CHECK(refused.text == "database unavailable");
    CHECK(log.find("25006") != std::string::npos);
    // A connection of its own now, which takes writes (the SET went with the old one).
    CHECK(backendPid(database) != readOnlyPid);
    CHECK(database.withSession([](Poco::Data::Session& session) {
        return runSql(session, "SELECT current_setting('transaction_read_only') AS read_only")
            .text(0, "read_only");
    }) == "off");

    // 57P03 cannot_connect_now (starting up, shutting down, in recovery): the same.
    const std::string before = backendPid(database);
    Outcome notNow;
    capturedStderr([&] { notNow = outcomeOf(database, raising("cannot_connect_now", "test")); });
    CAPTURE(notNow.text);
    REQUIRE(notNow.code.has_value());
    CHECK(*notNow.code == ErrorCode::DatabaseUnavailable);
    CHECK(backendPid(database) != before);
    CHECK(outcomeOf(database, "DROP TABLE IF EXISTS " + table).text.empty());  // never made
}

TEST_CASE("database: a server short of disk, memory or connections is a retryable database "
          "error in plain words, without PostgreSQL's text") {
    Database database(databaseUrl());
    const std::string text = "could not extend file base/1/2: No space left on device";
    struct Shortage {
        std::string condition;  // PostgreSQL Appendix A
        std::string sqlState;
        std::string words;  // what the client reads
    };
    const std::vector<Shortage> shortages{
        {"disk_full", "53100", "its disk is full"},
        {"out_of_memory", "53200", "it is out of memory"},
        {"too_many_connections", "53300", "it has too many connections"},
        {"insufficient_resources", "53000", "it is short of resources"},
        {"io_error", "58030", "it could not read or write its storage"},
        {"system_error", "58000", "it met a system error"},
    };
    const std::string pid = backendPid(database);
    for (const Shortage& shortage : shortages) {
        CAPTURE(shortage.condition);
        Outcome failed;
        const std::string log = capturedStderr(
            [&] { failed = outcomeOf(database, raising(shortage.condition, text)); });
        CAPTURE(failed.sqlState);
        CAPTURE(failed.text);
        REQUIRE(failed.code.has_value());
        CHECK(*failed.code == ErrorCode::DatabaseTimeout);
        CHECK(failed.text == "database unavailable: " + shortage.words + "; retry later");
        CHECK(failed.text.find("No space left") == std::string::npos);
        // The operator's log has PostgreSQL's words and the SQLSTATE, at warn.
        INFO("log: " << log);
        CHECK(log.find("database short of resources") != std::string::npos);
        CHECK(log.find(shortage.sqlState) != std::string::npos);
        CHECK(log.find("No space left on device") != std::string::npos);
    }
    // Nothing wrong with the connection: kept.
    CHECK(backendPid(database) == pid);

    // The statement's own error (a trigger's refusal, P0001) stays an SqlError.
    const Outcome own = outcomeOf(database, raising("raise_exception", "refused by test"));
    CHECK_FALSE(own.code.has_value());
    CHECK(own.sqlState == "P0001");
    CHECK(own.text.find("refused by test") != std::string::npos);
}
