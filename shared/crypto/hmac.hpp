#pragma once
// HMAC-SHA256 (RFC 2104) with Poco's own SHA-2: no OpenSSL provider lookup per call, which
// HMAC()/EVP_Q_mac do every time (it showed in the profile of every GET /domains/{id}).
#include <string>
#include <vector>

namespace dnsh {

std::vector<unsigned char> hmacSha256(const std::string& key, const std::string& message);

}  // namespace dnsh
