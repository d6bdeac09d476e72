// The Bearer credentials AUTH_TOKEN is checked against (RFC 6750 §2.1, RFC 9110 §11.1).
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "http/bearer.hpp"

using dnsh::bearerToken;

TEST_CASE("bearerToken: the scheme in any case, one or more spaces, else nothing") {
    struct Case {
        std::string authorization;
        std::optional<std::string> token;
    };
    const std::vector<Case> cases{
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER abc", "abc"},
        {"Bearer   abc", "abc"},
        {"Bearer abc def", "abc def"},  // compared whole: never equal to a token without a space
        {"", std::nullopt},
        {"Bearer", std::nullopt},
        {"Bearer ", std::nullopt},
        {"Bearer    ", std::nullopt},
        {"Bearerabc", std::nullopt},
        {"Basic abc", std::nullopt},
        {"abc", std::nullopt},
        {" Bearer abc", std::nullopt},
    };
    for (const auto& c : cases) {
        CAPTURE(c.authorization);
        const auto token = bearerToken(c.authorization);
        CHECK(token.has_value() == c.token.has_value());
        if (token && c.token) CHECK(std::string(*token) == *c.token);
    }
}
