#pragma once
// HMAC-SHA256 (RFC 2104) with OpenSSL, its algorithms looked up once per process (the lookup
// HMAC()/EVP_Q_mac make on every call showed in the profile of every GET /domains/{id}).
#include <string>
#include <vector>

namespace dnsh {

std::vector<unsigned char> hmacSha256(const std::string& key, const std::string& message);

}  // namespace dnsh
