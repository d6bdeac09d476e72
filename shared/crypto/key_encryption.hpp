#pragma once
// Private keys at rest: AES-256-GCM under a key-encryption key (KEK) read from
// KEY_ENCRYPTION_KEY_FILE. The database keeps the ciphertext and the id of the KEK it is sealed
// under. KEY_ENCRYPTION_KEY_FILE may name several files (comma-separated): the first one present
// seals, every one present unseals, and the files are read again whenever one of them changes,
// so a KEK rotation needs no restart (README, "Rotate the KEK"). A KEK file must be private to
// its owner (no group or other permission bits), as ssh requires of private keys.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_string.hpp"

namespace dnsh {

// A KEY_ENCRYPTION_KEY_FILE that cannot be used: none of the files exists, one cannot be read,
// holds no key or is open to group or others. The operator's to fix, not a sealed key that fails
// to open (that is a plain std::runtime_error).
class KeyFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class KeyEncryptor {
public:
    // Each file holds 64 hex characters (32 bytes). A listed file that does not exist is skipped
    // (a rotation adds and removes them); throws KeyFileError naming the file when one cannot
    // be read or parsed, is accessible to group or others (naming its mode), or when none
    // exists. The same holds whenever the files are read again (the keys read before stay
    // unused then: every use throws until the files are right again).
    static KeyEncryptor fromFile(const std::string& paths);
    // One fixed key, never re-read.
    explicit KeyEncryptor(SecretString key32);

    struct Sealed {
        std::string ciphertext;
        std::string keyId;  // the KEK it is sealed under
    };
    // base64url( 12-byte nonce || ciphertext || 16-byte tag ) under the sealing KEK, fresh nonce
    // each call, with that KEK's id: one call, so a rotation in between cannot mislabel it.
    Sealed seal(std::string_view plaintext) const;
    std::string encrypt(std::string_view plaintext) const { return seal(plaintext).ciphertext; }
    // Tries every KEK (the sealing one first); GCM's tag tells which one it was. Throws
    // std::runtime_error when none opens it (tampered with, or a KEK no longer listed). The
    // plaintext is a private key: wiped when the caller drops it.
    SecretString decrypt(const std::string& sealed) const;
    // The id of the KEK that opens `sealed`; throws as decrypt does.
    std::string keyIdOf(const std::string& sealed) const;

    // First 16 hex characters of SHA-256 of the sealing KEK: names it without revealing it.
    std::string keyId() const;
    // The ids of every KEK it holds (the sealing one first): what it can open.
    std::vector<std::string> keyIds() const;
    // The KEKs as they are now, never re-read: one consistent set for a whole rotation.
    KeyEncryptor snapshot() const;

    struct Key {
        SecretString bytes;
        std::string id;
    };

private:
    struct KeyRing;
    explicit KeyEncryptor(std::shared_ptr<KeyRing> ring) : ring_(std::move(ring)) {}
    std::shared_ptr<const std::vector<Key>> keys() const;

    std::shared_ptr<KeyRing> ring_;  // shared by copies: one reload serves them all
};

}  // namespace dnsh
