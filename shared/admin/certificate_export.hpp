#pragma once
// dnsh-admin export-cert (tools/dnsh_admin_storage_commands.cpp).
#include <string>

#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// Writes cert.pem (leaf), chain.pem (issuers) and key.pem (decrypted, mode 0600) of the domain's
// newest certificate into `outDir` (created with mode 0700 if missing). Throws Error(NotFound).
void exportCertificate(Database& database, const KeyEncryptor& kek, const std::string& domainId,
                       const std::string& outDir);

}  // namespace dnsh
