#pragma once
// Bytes as lowercase hexadecimal, two digits a byte: random ids and tokens, the delegation label,
// a key's id, the request id's counter.
#include <cstdint>
#include <span>
#include <string>

namespace dnsh {

std::string lowerHex(std::span<const unsigned char> bytes);

// A number as 16 digits, the most significant first (its 8 bytes big-endian).
std::string lowerHex(std::uint64_t value);

}  // namespace dnsh
