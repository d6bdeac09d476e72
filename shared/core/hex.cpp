#include "core/hex.hpp"

#include <array>

namespace dnsh {

std::string lowerHex(std::span<const unsigned char> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (unsigned char byte : bytes) {
        hex.push_back(kDigits[byte >> 4]);
        hex.push_back(kDigits[byte & 0x0f]);
    }
    return hex;
}

std::string lowerHex(std::uint64_t value) {
    std::array<unsigned char, sizeof value> bytes{};
    for (std::size_t at = bytes.size(); at > 0; value >>= 8)
        bytes[--at] = static_cast<unsigned char>(value & 0xff);
    return lowerHex(bytes);
}

}  // namespace dnsh
