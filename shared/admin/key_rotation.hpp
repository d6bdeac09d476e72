#pragma once
// dnsh-admin rotate-kek (tools/dnsh_admin_storage_commands.cpp).
#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// Re-seals every stored private key that is not under `keys`' sealing KEK (the first of
// KEY_ENCRYPTION_KEY_FILE) with it, while the services keep running: in transactions of up to
// 500 keys, each locking only the rows it rewrites (FOR NO KEY UPDATE, which foreign-key checks
// do not wait for), so no request waits on it and a rerun with nothing left locks nothing. A
// key labelled with a KEK `keys` does not hold makes it fail before anything changes; one that
// does not open stops it there, the batches before it committed (every key opens under the old
// KEK or the new one). Returns the keys rewritten.
int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys);

}  // namespace dnsh
