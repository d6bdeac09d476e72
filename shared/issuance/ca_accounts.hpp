#pragma once
// Our account at each configured CA (ACME_CAS, README "Several CAs"), in order of preference,
// and the one an order or certificate placed earlier belongs to.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "db/database.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

class CaAccounts {
public:
    CaAccounts(Database& database, const Config& config, const KeyEncryptor& encryptor,
               CaCaller caller);
    CaAccounts(const CaAccounts&) = delete;
    CaAccounts& operator=(const CaAccounts&) = delete;

    // Every CA, most preferred first; never empty.
    const std::vector<std::unique_ptr<AcmeAccount>>& inPreference() const { return accounts_; }
    AcmeAccount& first() const { return *accounts_.front(); }
    // The account at the CA with this directory URL; nullptr when that CA is no longer
    // configured (an order placed before ACME_CAS changed).
    AcmeAccount* find(const std::string& directoryUrl) const;
    // Requests sent to every CA so far (for the timing fields of a log line).
    std::uint64_t requestCount() const;

private:
    std::vector<CaSettings> cas_;  // each account refers to its entry: filled once, never moved
    std::vector<std::unique_ptr<AcmeAccount>> accounts_;
};

}  // namespace dnsh
