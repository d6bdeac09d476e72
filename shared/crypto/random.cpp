#include "crypto/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "core/hex.hpp"

namespace dnsh {

std::string randomHex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1)
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    return lowerHex(buffer);
}

double randomUnit() {
    std::uint32_t value = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value) != 1)
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    return static_cast<double>(value) / 4294967296.0;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
    // Length is not secret here (tokens have a fixed, public length).
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace dnsh
