// Bytes and numbers as lowercase hexadecimal (core/hex.hpp): two digits a byte, in order, and a
// number's 16 digits most significant first.
#include "core/hex.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace dnsh;

TEST_CASE("lowerHex writes two lowercase digits a byte, in order") {
    const std::vector<unsigned char> bytes{0x00, 0x0f, 0xa5, 0xf0, 0xff};
    CHECK(lowerHex(bytes) == "000fa5f0ff");
    CHECK(lowerHex(std::vector<unsigned char>{}) == "");
}

TEST_CASE("lowerHex of a number: 16 digits, the most significant first") {
    CHECK(lowerHex(std::uint64_t{0}) == "0000000000000000");
    CHECK(lowerHex(std::uint64_t{0x1a2b}) == "0000000000001a2b");
    CHECK(lowerHex(std::uint64_t{0xfedcba9876543210}) == "fedcba9876543210");
}
