#pragma once
// Direct SQL for tests, against DATABASE_URL: to check what the API did, or to break things.
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

// A server libpq is to try before the test stack's own (libpq "Specifying Multiple Hosts").
struct FirstHost {
    std::string host;
    int port = 0;
};

// The stack's DATABASE_URL as a key=value connection string: with `firstHost`, that server listed
// before the stack's own (libpq tries it first; the stack's URL must name a host then), and each
// of `settings` (keyword, value) set in place of the URL's own value for that keyword.
std::string stackConnectionString(
    const std::optional<FirstHost>& firstHost = std::nullopt,
    const std::vector<std::pair<std::string, std::string>>& settings = {});

}  // namespace dnsh::test
