#pragma once
// dnsh-admin rotate-kek (tools/dnsh_admin_storage_commands.cpp).
#include <string>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// A KEK that stored keys are labelled with (sealed under) and a key ring does not hold: its id,
// and one such key (its table and row) to name it by.
struct KekNotHeld {
    std::string keyId;
    std::string table;
    std::string rowId;
};

// Every KEK id that a stored private key (each table and column rotate-kek re-seals) is labelled
// with and `held` does not list: one entry per id and table. Reads only, every row of those
// tables (no index on the labels). A key stored with no label (an order's, from before
// cert_key_id) is not looked at. rotate-kek's check before it changes anything, and
// dns-scheduler's at its start (README "Secrets").
std::vector<KekNotHeld> keksNotHeld(Poco::Data::Session& session,
                                    const std::vector<std::string>& held);

// Re-seals every stored private key that is not under `keys`' sealing KEK (the first of
// KEY_ENCRYPTION_KEY_FILE) with it, while the services keep running: in transactions of up to
// 500 keys, each locking only the rows it rewrites (FOR NO KEY UPDATE, which foreign-key checks
// do not wait for), so no request waits on it and a rerun with nothing left locks nothing. A
// key labelled with a KEK `keys` does not hold makes it fail before anything changes; one that
// does not open stops it there, the batches before it committed (every key opens under the old
// KEK or the new one). Returns the keys rewritten.
int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys);

}  // namespace dnsh
