// SqlError against the real PostgreSQL: a constraint violation's DETAIL repeats the row or key
// written ("Failing row contains (...)", "Key (id)=(...)"), which may be a verification token or
// an Idempotency-Key, and the message goes into "unhandled error" log lines. The values are left
// out; the SQLSTATE, the constraint, the primary text and any other detail stay.
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/test_env.hpp"

using namespace dnsh;

namespace {

struct Violation {
    std::string description;
    std::function<void(Poco::Data::Session&)> statement;
    std::string sqlState, constraint, primary, detail;
};

}  // namespace

TEST_CASE("SqlError: a constraint violation's DETAIL keeps its columns, not the row's values") {
    // A token as the domains table holds them, and an Idempotency-Key with a line break: both
    // halves of the key must go, however libpq lays out its lines.
    const std::string token = randomHex(32);
    const std::string keyFirst = "idem-" + randomHex(8);
    const std::string keySecond = "line-" + randomHex(8);
    const std::string key = keyFirst + "\n" + keySecond;
    const std::vector<std::string> secrets{token, keyFirst, keySecond};
    Database database(test::databaseUrl());
    database.withSession([&](Poco::Data::Session& session) {
        // Temporary: this session's own, gone when it closes.
        runSql(session,
               "CREATE TEMP TABLE sql_error_rows (id text CONSTRAINT sql_error_rows_pkey PRIMARY "
               "KEY, secret text NOT NULL CONSTRAINT sql_error_rows_short CHECK (length(secret) "
               "< 10))");
        runSql(session,
               "CREATE TEMP TABLE sql_error_refs (row_id text CONSTRAINT sql_error_refs_row "
               "REFERENCES sql_error_rows (id))");
        runSql(session, "INSERT INTO sql_error_rows (id, secret) VALUES ($1, 'short')", {key});
        auto insertRow = [](const std::string& id, const std::optional<std::string>& secret) {
            return [id, secret](Poco::Data::Session& s) {
                runSql(s, "INSERT INTO sql_error_rows (id, secret) VALUES ($1, $2)", {id, secret});
            };
        };
        const std::vector<Violation> violations{
            {"a check constraint (23514)", insertRow("row-1", token), "23514",
             "sql_error_rows_short", "violates check constraint \"sql_error_rows_short\"",
             "Failing row contains (values not shown)."},
            {"a NOT NULL column (23502)", insertRow(token, std::nullopt), "23502", "",
             "violates not-null constraint", "Failing row contains (values not shown)."},
            {"a unique key (23505)", insertRow(key, std::string("short")), "23505",
             "sql_error_rows_pkey",
             "duplicate key value violates unique constraint \"sql_error_rows_pkey\"",
             "Key (id)=(values not shown)."},
            {"a foreign key (23503)",
             [&](Poco::Data::Session& s) {
                 runSql(s, "INSERT INTO sql_error_refs (row_id) VALUES ($1)", {token});
             },
             "23503", "sql_error_refs_row",
             "violates foreign key constraint \"sql_error_refs_row\"",
             "Key (row_id)=(values not shown)."},
        };
        for (const Violation& violation : violations) {
            CAPTURE(violation.description);
            bool thrown = false;
            try {
                violation.statement(session);
            } catch (const SqlError& e) {
                thrown = true;
                const std::string shown = e.displayText();
                CAPTURE(shown);
                for (const auto& secret : secrets) CHECK(shown.find(secret) == std::string::npos);
                CHECK(e.sqlState() == violation.sqlState);
                // Not-null constraints carry no name before PostgreSQL 18.
                if (!violation.constraint.empty()) CHECK(e.constraint() == violation.constraint);
                CHECK(shown.find("ERROR:  ") != std::string::npos);
                CHECK(shown.find(violation.primary) != std::string::npos);
                CHECK(shown.find("DETAIL:  " + violation.detail) != std::string::npos);
            }
            CHECK(thrown);
        }
        // Any other error's detail says what went wrong, not what was written: kept as it is.
        bool thrown = false;
        try {
            runSql(session, "SELECT $1::json", {std::string("{\"a\":")});
        } catch (const SqlError& e) {
            thrown = true;
            CHECK(e.sqlState() == "22P02");
            CHECK(e.displayText().find("DETAIL:  The input string ended unexpectedly.") !=
                  std::string::npos);
        }
        CHECK(thrown);
        runSql(session, "DROP TABLE sql_error_refs, sql_error_rows");
        return true;
    });
}
