#pragma once
// Direct SQL for tests, against DATABASE_URL: to check what the API did, or to break things.
#include <string>

namespace dnsh::test {

// The first column of the first row as text ("" when no row or NULL).
std::string scalar(const std::string& sql);
long long count(const std::string& sql);
void execute(const std::string& sql);

// Lines of the test stack's PostgreSQL log (DNSH_TEST_DIR/postgres/postgres.log) that contain
// `text`, e.g. "deadlock detected"; -1 when there is no such log (a deploy/up stack).
long long postgresLogLines(const std::string& text);

// An SQL string literal, for the SQL tests build by hand.
std::string quoted(const std::string& text);

}  // namespace dnsh::test
