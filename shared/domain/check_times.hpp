#pragma once
// The times of the checks a domain view shows (checks.checked_at and next_check_at, checks.caa's
// and persist's checked_at) are PostgreSQL's: the statement that stores a check appends them from
// now(), as updated_at and every other time of the view. A check stamped by the clock of
// whichever host looked (a replica minutes off) went backwards between two checks, and its
// next_check_at lay in the past or far ahead of the scheduler's own next_attempt_at.
#include <Poco/Data/Session.h>

#include <string>
#include <string_view>

namespace dnsh {

// The SQL expression of a check as stored: `object`, an SQL expression of the check's JSON object
// text without its times (txtCheckJson, caaCheckJson, persistCheckJson: "{...}"), with
// "checked_at" (now()) appended, and "next_check_at" (now() plus `nextCheckInMs` milliseconds)
// when `nextCheckInMs`, an SQL expression of a bigint, is not NULL. RFC 3339 UTC to the second,
// as every time of the view. NULL when `object` is NULL.
std::string checkWithTimesSql(std::string_view object, std::string_view nextCheckInMs = "NULL");

// `checkJson` with its checked_at as a statement would store it now: for a check an answer shows
// that is not stored (its claim gone, another call's check kept).
std::string checkWithTimesNow(Poco::Data::Session& session, const std::string& checkJson);

}  // namespace dnsh
