// A PostgreSQL that answers and refuses the connection (no such database here; a role's or the
// server's connection limit, a wrong password or pg_hba alike) costs a process nothing per try:
// Poco 1.11 leaks the PGconn of a failed connect, socket included, and libpq's PQping, asked
// first, passes every such refusal (SQLSTATE other than 57P03) as a server accepting
// connections. A scheduler retrying through a refusal ran out of descriptors and stayed stuck
// after PostgreSQL accepted it again.
#include <doctest/doctest.h>

#include <filesystem>
#include <iterator>
#include <string>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "support/captured_stderr.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

long openDescriptors() {
    return static_cast<long>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator()));
}

}  // namespace

TEST_CASE("database: a connection PostgreSQL refuses (no such database) leaks no descriptor, and "
          "the log names the refusal") {
    const std::string missing = "dnsh_missing_" + randomHex(4);
    Database database(databaseUrl() + " dbname=" + missing);
    // One try first: libraries that open something once (OpenSSL's configuration) have done so.
    auto tryOnce = [&] {
        try {
            database.session();
        } catch (const Error& e) {
            return e.code() == ErrorCode::DatabaseUnavailable;
        }
        return false;
    };
    const std::string log = capturedStderr([&] { CHECK(tryOnce()); });
    INFO(log);
    CHECK(log.find("PostgreSQL refused the connection") != std::string::npos);
    CHECK(log.find("does not exist") != std::string::npos);
    CHECK(log.find(missing) == std::string::npos);  // libpq's quoted name redacted: "..."
    const long before = openDescriptors();
    constexpr int kTries = 20;
    int refused = 0;
    capturedStderr([&] {
        for (int attempt = 0; attempt < kTries; ++attempt) refused += tryOnce() ? 1 : 0;
    });
    CHECK(refused == kTries);
    // Before: one socket more per try, 20 in all.
    CHECK(openDescriptors() == before);
}
