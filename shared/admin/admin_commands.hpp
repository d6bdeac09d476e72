#pragma once
// Operator commands behind dnsh-admin (tools/dnsh_admin.cpp).
#include <string>

#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// Writes cert.pem (leaf), chain.pem (issuers) and key.pem (decrypted, mode 0600) of the domain's
// newest certificate into `outDir` (created with mode 0700 if missing). Throws Error(NotFound).
void exportCertificate(Database& database, const KeyEncryptor& kek, const std::string& domainId,
                       const std::string& outDir);

// Re-encrypts every stored private key under `next`, in one transaction. Keys sealed under
// another KEK than `current` make it fail without changing anything. Returns the keys rewritten.
int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& current,
                           const KeyEncryptor& next);

}  // namespace dnsh
