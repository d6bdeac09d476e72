#include "issuance/issuer.hpp"

#include <chrono>
#include <utility>

#include "core/error.hpp"
#include "issuance/domain_removal.hpp"
#include "issuance/renewal_info.hpp"

namespace dnsh {

KeyEncryptor loadKeyEncryptor(const Config& config) {
    if (config.keyEncryptionKeyFile.empty())
        throw ConfigError(
            "KEY_ENCRYPTION_KEY_FILE is not set: it names the key that encrypts "
            "private keys at rest (create one with: openssl rand -hex 32 > FILE)");
    return keyEncryptorFromFiles(config.keyEncryptionKeyFile);
}

Issuer::Issuer(Database& database, const Config& config, const DnsResolver& resolver,
               CaCaller caller, std::function<bool()> stopRequested)
    : database_(database),
      config_(config),
      publishers_(database, config),
      encryptor_(loadKeyEncryptor(config)),
      cas_(database, config, encryptor_, caller),
      parts_{database, config, resolver, encryptor_, cas_, publishers_,
             std::move(stopRequested)} {}

StartedIssuance Issuer::start(const std::string& domainId, IssueRequester requester) {
    return startIssuance(database_, config_, parts_.resolver, cas_, domainId, requester);
}

StepOutcome Issuer::advance(const std::string& orderId, const std::string& leaseOwner) {
    // The worker claimed the order (for SCHEDULER_LEASE) just before this.
    return runOrder(parts_, orderId, leaseOwner, std::chrono::steady_clock::now());
}

void Issuer::deleteDomain(const std::string& domainId) {
    removeDomain(database_, cas_, domainId, config_.delegationZone);
}

bool Issuer::refreshRenewalInfo(const AriDue& due) {
    AcmeAccount* account = cas_.find(due.caDirectory);
    // The scheduler claims only certificates of its own CAs (claimAriFetches). Should one of
    // another CA come all the same, it keeps the claim's hold, for a replica that has that CA:
    // not put off by ARI_MAX_WAIT, a day nobody would ask.
    if (account == nullptr) return true;
    return dnsh::refreshRenewalInfo(database_, account->client(), due, config_.ariMaxWait);
}

}  // namespace dnsh
