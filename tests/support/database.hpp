#pragma once
// Direct SQL for tests, against DATABASE_URL: to check what the API did, or to break things.
#include <string>

namespace dnsh::test {

// The first column of the first row as text ("" when no row or NULL).
std::string scalar(const std::string& sql);
long long count(const std::string& sql);
void execute(const std::string& sql);

// An SQL string literal, for the SQL tests build by hand.
std::string quoted(const std::string& text);

}  // namespace dnsh::test
