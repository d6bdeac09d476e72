// runSql's binary results against the real PostgreSQL: timestamps formatted in C++ must read as
// the SQL's own to_char() (DNSH_RFC3339) does, whatever the session's TimeZone, and integers and
// booleans decode with their signs and sizes.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/sql_time.hpp"
#include "support/test_env.hpp"

using namespace dnsh;

TEST_CASE("binary results: timestamps as to_char formats them, in any session time zone") {
    Database database(test::databaseUrl());
    const std::vector<std::string> instants{
        "2000-01-01 00:00:00+00",        "1999-12-31 23:59:59.999999+00",
        "1970-01-01 00:00:00.5+00",      "2026-11-27 20:02:07.106292+00",
        "2028-02-29 23:59:59.999+00",    "2099-06-30 12:00:00-07",
        "1969-07-20 20:17:40.000001+00",
    };
    database.withSession([&](Poco::Data::Session& session) {
        // A zone far from UTC: the formatted text must not move with it.
        runSql(session, "SET TimeZone = 'Pacific/Kiritimati'");
        for (const auto& instant : instants) {
            CAPTURE(instant);
            const SqlRows text = runSql(
                session,
                "SELECT " DNSH_RFC3339("$1::timestamptz") " AS formatted, "
                "(floor(extract(epoch FROM $1::timestamptz) * 1000000))::bigint AS micros",
                {instant});
            const SqlRows binary =
                runSql(session, "SELECT $1::timestamptz AS at, NULL::timestamptz AS never",
                       {instant}, SqlResults::Binary);
            CHECK(binary.rfc3339(0, "at") == text.text(0, "formatted"));
            CHECK(binary.unixMicros(0, "at") == text.integer(0, "micros"));
            CHECK_FALSE(binary.rfc3339(0, "never").has_value());
        }
        runSql(session, "RESET TimeZone");
        return true;
    });
}

TEST_CASE("binary results: integers of every width keep their sign, booleans and text as sent") {
    Database database(test::databaseUrl());
    database.withSession([&](Poco::Data::Session& session) {
        const SqlRows rows = runSql(
            session,
            "SELECT (-2)::int2 AS small, (-70000)::int4 AS medium, (-5000000000)::int8 AS large, "
            "32767::int2 AS small_max, 9223372036854775807::int8 AS large_max, true AS yes, "
            "false AS no, 'tëxt \"q\"'::text AS words, '[[\"a\",\"b\"]]'::json AS doc",
            {}, SqlResults::Binary);
        CHECK(rows.integer(0, "small") == -2);
        CHECK(rows.integer(0, "medium") == -70000);
        CHECK(rows.integer(0, "large") == -5000000000LL);
        CHECK(rows.integer(0, "small_max") == 32767);
        CHECK(rows.integer(0, "large_max") == 9223372036854775807LL);
        CHECK(rows.boolean(0, "yes"));
        CHECK_FALSE(rows.boolean(0, "no"));
        CHECK(rows.text(0, "words") == "tëxt \"q\"");
        CHECK(rows.text(0, "doc") == "[[\"a\",\"b\"]]");
        // A text column asked for as a timestamp is a programming error, not a wrong date.
        CHECK_THROWS_AS(rows.rfc3339(0, "words"), std::logic_error);
        return true;
    });
}

TEST_CASE("columns by name: found in any order, again and again, and a missing one is an error") {
    Database database(test::databaseUrl());
    database.withSession([&](Poco::Data::Session& session) {
        const SqlRows rows = runSql(session, "SELECT 'a' AS first, 'b' AS second, 'c' AS third");
        // Backwards, then repeated, then in order: the search starts where the last one ended.
        CHECK(rows.text(0, "third") == "c");
        CHECK(rows.text(0, "second") == "b");
        CHECK(rows.text(0, "second") == "b");
        CHECK(rows.text(0, "first") == "a");
        CHECK(rows.text(0, "third") == "c");
        CHECK(rows.text(0, "first") == "a");
        CHECK_THROWS_AS(rows.text(0, "fourth"), std::logic_error);
        CHECK(rows.text(0, "second") == "b");
        return true;
    });
}
