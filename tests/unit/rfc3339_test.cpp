// RFC 3339 §5.6 timestamps as a CA writes them (acme/rfc3339.hpp), for what PostgreSQL's and
// Poco's readings take and RFC 3339 does not: the words PostgreSQL knows, a bare number, a time
// without offset. ARI's windows go through the same parser (ari_test.cpp has its other cases);
// an order's expires that fails it is taken as absent (acme/client_orders.cpp).
#include "acme/rfc3339.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dnsh::acme;
using namespace std::chrono_literals;

TEST_CASE("parseRfc3339 converts a time with an offset to UTC") {
    const auto expected = std::chrono::sys_days(std::chrono::year(2025) / 7 / 1) + 3h;
    CHECK(parseRfc3339("2025-07-01T12:00:00+09:00", "expires") == expected);
    CHECK(parseRfc3339("2025-07-01T03:00:00Z", "expires") == expected);
}

TEST_CASE("parseRfc3339 refuses what PostgreSQL would read as some time: words, numbers, a time "
          "without offset") {
    const std::vector<std::string> refused{
        "tomorrow", "now", "epoch", "infinity", "12345", "1751371200",
        "2025-07-01T12:00:00",  // read in the session's TimeZone by PostgreSQL
        "2025-07-01", "",
    };
    for (const auto& text : refused) {
        CAPTURE(text);
        try {
            parseRfc3339(text, "the order's expires");
            FAIL("taken");
        } catch (const std::runtime_error& error) {
            CHECK(std::string(error.what()).rfind("the order's expires ", 0) == 0);
        }
    }
}
