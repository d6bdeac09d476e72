#pragma once
// Timestamps leave SQL already formatted as RFC 3339 UTC, so no time zone logic lives in C++.
// DNSH_RFC3339("c.expires_at") is an SQL expression (NULL stays NULL).
#define DNSH_RFC3339(column) \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
