#pragma once
// Operator commands behind dnsh-admin (tools/dnsh_admin.cpp).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "db/database.hpp"

namespace dnsh {

// Writes cert.pem (leaf), chain.pem (issuers) and key.pem (decrypted, mode 0600) of the domain's
// newest certificate into `outDir` (created with mode 0700 if missing). Throws Error(NotFound).
void exportCertificate(Database& database, const KeyEncryptor& kek, const std::string& domainId,
                       const std::string& outDir);

// Re-seals every stored private key that is not under `keys`' sealing KEK (the first of
// KEY_ENCRYPTION_KEY_FILE) with it, in one transaction, while the services keep running. A key
// none of `keys` opens makes it fail without changing anything. Returns the keys rewritten.
int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys);

// dnsh-admin list: a domain with its newest certificate's dates (RFC 3339; "" when none).
struct DomainSummary {
    std::string id;
    std::string domainName;
    std::string status;
    std::string expiresAt;
    std::string renewAt;
};

// Every domain by soonest expiry of its current certificate (ties by registration, then id;
// those without a certificate last), optionally of one status and with a certificate expiring
// within `expiringWithin`, each handed to `each` as it comes. Read in pages walked by key, so
// memory stays bounded however many domains there are; a domain changed while the walk runs
// may be seen at its old place, its new one, or both.
void forEachDomainSummary(Database& database, const std::string& status,
                          std::optional<std::chrono::milliseconds> expiringWithin,
                          const std::function<void(const DomainSummary&)>& each);

// dnsh-admin renew: the newest certificate of an active domain renews now, whatever renew_at
// said. Error(NotFound) for an unknown domain, Error(BadRequest) when there is nothing to renew
// (not active, or a renewal already runs).
void renewNow(Database& database, const std::string& domainId);

}  // namespace dnsh
