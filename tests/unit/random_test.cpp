// CSPRNG hex strings (tokens, ids) and constant-time comparison of secrets.
#include "crypto/random.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace dnsh;

namespace {

bool isLowerHex(const std::string& text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

TEST_CASE("randomHex gives two lowercase hex characters per byte") {
    struct Case {
        std::string description;
        std::size_t bytes;
    };
    const std::vector<Case> cases{
        {"verification token (32 bytes)", 32},
        {"domain id (16 bytes)", 16},
        {"one byte", 1},
        {"zero bytes", 0},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string hex = randomHex(c.bytes);
        CHECK(hex.size() == c.bytes * 2);
        CHECK(isLowerHex(hex));
    }
}

TEST_CASE("randomHex differs between calls and uses all hex digits") {
    const std::string first = randomHex(32);
    const std::string second = randomHex(32);
    CHECK(first != second);

    // 100 ids of 32 hex digits: missing any digit would be astronomically unlikely.
    std::set<char> seen;
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        const std::string id = randomHex(16);
        seen.insert(id.begin(), id.end());
        ids.insert(id);
    }
    CHECK(seen.size() == 16);
    CHECK(ids.size() == 100);
}

TEST_CASE("constantTimeEquals") {
    struct Case {
        std::string description;
        std::string a;
        std::string b;
        bool equal;
    };
    const std::string token(64, 'c');
    std::string firstDiffers = token;
    firstDiffers.front() = 'd';
    std::string lastDiffers = token;
    lastDiffers.back() = 'd';
    const std::vector<Case> cases{
        {"same token", token, token, true},
        {"both empty", "", "", true},
        {"same short", "abc", "abc", true},
        {"last byte differs", token, lastDiffers, false},
        {"first byte differs", token, firstDiffers, false},
        {"prefix", token, token.substr(0, 63), false},
        {"longer", token, token + "c", false},
        {"empty vs non-empty", "", "a", false},
        {"case differs", "abc", "ABC", false},
        {"embedded NUL differs", std::string("a\0b", 3), std::string("a\0c", 3), false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(constantTimeEquals(c.a, c.b) == c.equal);
        CHECK(constantTimeEquals(c.b, c.a) == c.equal);
    }
}
