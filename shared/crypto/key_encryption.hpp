#pragma once
// Private keys at rest: AES-256-GCM under a key-encryption key (KEK) read from
// KEY_ENCRYPTION_KEY_FILE. The database keeps only the ciphertext and the KEK's id, so the KEK can
// be rotated (re-encrypt with the new one, keep the old one until done).
#include <string>

namespace dnsh {

class KeyEncryptor {
public:
    // The file holds 64 hex characters (32 bytes); throws std::runtime_error naming the file.
    static KeyEncryptor fromFile(const std::string& path);
    explicit KeyEncryptor(std::string key32);

    // First 16 hex characters of SHA-256 of the KEK: names it without revealing it.
    const std::string& keyId() const { return keyId_; }

    // base64url( 12-byte nonce || ciphertext || 16-byte tag ), fresh nonce each call.
    std::string encrypt(const std::string& plaintext) const;
    // Throws std::runtime_error when the ciphertext was tampered with or the KEK is wrong.
    std::string decrypt(const std::string& sealed) const;

private:
    std::string key_;
    std::string keyId_;
};

}  // namespace dnsh
