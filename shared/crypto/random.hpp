#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace dnsh {

// Lowercase hex of `bytes` bytes from OpenSSL's CSPRNG.
std::string randomHex(std::size_t bytes);

// Uniform in [0, 1), for jitter.
double randomUnit();

// Compares secrets without leaking where they differ through timing.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace dnsh
