#include "issuance/issuer.hpp"

#include <chrono>

#include "core/error.hpp"
#include "issuance/domain_removal.hpp"
#include "issuance/renewal_info.hpp"

namespace dnsh {

KeyEncryptor loadKeyEncryptor(const Config& config) {
    if (config.keyEncryptionKeyFile.empty())
        throw ConfigError(
            "KEY_ENCRYPTION_KEY_FILE is not set: it names the key that encrypts "
            "private keys at rest (create one with: openssl rand -hex 32 > FILE)");
    return KeyEncryptor::fromFile(config.keyEncryptionKeyFile);
}

Issuer::Issuer(Database& database, const Config& config, const DnsResolver& resolver,
               CaCaller caller)
    : database_(database),
      config_(config),
      publishers_(database, config),
      encryptor_(loadKeyEncryptor(config)),
      account_(database, config, encryptor_, caller),
      parts_{database, config, resolver, encryptor_, account_, publishers_} {}

StartedIssuance Issuer::start(const std::string& domainId) {
    return startIssuance(database_, config_, parts_.resolver, account_, domainId);
}

StepOutcome Issuer::advance(const std::string& orderId, const std::string& leaseOwner) {
    // The worker claimed the order (for SCHEDULER_LEASE) just before this.
    return runOrder(parts_, orderId, leaseOwner, std::chrono::steady_clock::now());
}

void Issuer::deleteDomain(const std::string& domainId) {
    removeDomain(database_, account_, domainId);
}

void Issuer::refreshRenewalInfo(const AriDue& due) {
    dnsh::refreshRenewalInfo(database_, account_.client(), due, config_.ariMaxWait);
}

}  // namespace dnsh
