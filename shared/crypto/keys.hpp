#pragma once
// OpenSSL key handling with RAII: generation, PEM in and out, SHA-256, base64url.
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_string.hpp"

namespace dnsh {

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey generateEcdsaP256Key();
Pkey generateRsaKey(int bits);

// PKCS#8 PEM of the private key. The result is a secret: never log it; wiped when dropped.
SecretString privateKeyToPem(EVP_PKEY* key);
Pkey privateKeyFromPem(std::string_view pem);

std::vector<unsigned char> sha256(std::string_view data);

// RFC 4648 §5, without padding (RFC 7515 §2).
std::string base64UrlEncode(std::string_view data);
std::string base64UrlEncode(const std::vector<unsigned char>& data);
std::string base64UrlDecode(std::string_view text);  // throws std::invalid_argument

// The latest OpenSSL error queue entry as text, for exception messages.
std::string opensslError();

}  // namespace dnsh
