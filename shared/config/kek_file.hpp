#pragma once

#include <string>

#include "crypto/key_encryption.hpp"

namespace dnsh {

// KeyEncryptor::fromFile(paths), its refusal of the files (none exists, one is unreadable, not a
// key, or open to group or others) a ConfigError with the same message: a setting to fix, which
// dnsh-admin and dnsh-edge-sync answer with 78 (EX_CONFIG), not a failure to retry.
KeyEncryptor keyEncryptorFromFiles(const std::string& paths);

}  // namespace dnsh
