#pragma once
// Timestamps leave SQL already formatted as RFC 3339 UTC, so no time zone logic lives in C++.
// DNSH_RFC3339("c.expires_at") is an SQL expression (NULL stays NULL).
#define DNSH_RFC3339_PATTERN "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"
#define DNSH_RFC3339(column) "to_char(" column " AT TIME ZONE 'UTC', " DNSH_RFC3339_PATTERN ")"
// With milliseconds, as log lines and webhook payloads write times (2026-06-25T16:30:00.123Z).
#define DNSH_RFC3339_MS(column) \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
