#pragma once
// dnsh-admin rotate-kek (tools/dnsh_admin_storage_commands.cpp).
#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// Re-seals every stored private key that is not under `keys`' sealing KEK (the first of
// KEY_ENCRYPTION_KEY_FILE) with it, in one transaction, while the services keep running. A key
// none of `keys` opens makes it fail without changing anything. Returns the keys rewritten.
int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys);

}  // namespace dnsh
