// shownText (core/shown_text.hpp): what a customer's DNS or a CA sent, made printable and
// bounded before it is stored, shown or logged.
#include "core/shown_text.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace dnsh;

TEST_CASE("shownText: printable ASCII as it is, other bytes as RFC 1035 \\DDD, cut with ...") {
    struct Case {
        std::string description;
        std::string bytes;
        std::size_t maxBytes;
        std::string expected;
        bool truncated;
    };
    const std::vector<Case> cases{
        {"an ACME value is unchanged", "Xq3vJ0pZ0Yc4m8yQ1bG2nF5tR7wE9uI0oP3aS6dK8lM", 100,
         "Xq3vJ0pZ0Yc4m8yQ1bG2nF5tR7wE9uI0oP3aS6dK8lM", false},
        {"control bytes, an ANSI escape and DEL", "a\x01\x1b[31m\x7f", 100, "a\\001\\027[31m\\127",
         false},
        {"a NUL byte", std::string("a\0b", 3), 100, "a\\000b", false},
        {"bytes from 0x80, invalid UTF-8 included", "\xff\xc3(", 100, "\\255\\195(", false},
        {"a backslash is doubled", "a\\b", 100, "a\\\\b", false},
        {"exactly the cap is whole", std::string(10, 'x'), 10, std::string(10, 'x'), false},
        {"one over the cap is cut", std::string(11, 'x'), 10, "xxxxxxx...", true},
        {"never inside an escape", "xxxxx\x01\x01", 10, "xxxxx...", true},
        {"empty", "", 10, "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        bool truncated = false;
        const std::string shown = shownText(c.bytes, c.maxBytes, &truncated);
        CHECK(shown == c.expected);
        CHECK(shown.size() <= c.maxBytes);
        CHECK(truncated == c.truncated);
    }
}
