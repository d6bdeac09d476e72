#include "domain/check_times.hpp"

#include "db/sql.hpp"
#include "db/sql_time.hpp"

namespace dnsh {

namespace {

std::string rfc3339Sql(const std::string& time) {
    return "to_char(" + time + " AT TIME ZONE 'UTC', " DNSH_RFC3339_PATTERN ")";
}

}  // namespace

std::string checkWithTimesSql(std::string_view object, std::string_view nextCheckInMs) {
    const std::string text(object);
    const std::string checkedAt = "now()";
    const std::string nextAt =
        "(" + checkedAt + " + (" + std::string(nextCheckInMs) + ")::bigint * interval '1 ms')";
    // Appended as text, not through jsonb: the object keeps its members' order and spelling.
    return "(left(" + text + ", -1) || CASE WHEN " + text + " = '{}' THEN '' ELSE ',' END" +
           " || '\"checked_at\":\"' || " + rfc3339Sql(checkedAt) + " || '\"'" +
           " || coalesce(',\"next_check_at\":\"' || " + rfc3339Sql(nextAt) + " || '\"', '')" +
           " || '}')";
}

std::string checkWithTimesNow(Poco::Data::Session& session, const std::string& checkJson) {
    return runSql(session, "SELECT " + checkWithTimesSql("$1") + " AS shown", {checkJson})
        .text(0, "shown");
}

}  // namespace dnsh
