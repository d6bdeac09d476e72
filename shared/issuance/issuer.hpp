#pragma once
// Certificate issuance and renewal, as the handlers, the scheduler and dnsh-admin see it: the
// handler's start (account, order, dns-01 challenges, move to certificate_pending), the delete,
// and the scheduler's resumable steps of an order. Every step persists its progress before the
// next one begins, so a process killed at any point resumes without a lost key or a second
// certificate. The parts: acme_account (the ACME account), issue_start, domain_removal,
// order_runner (one turn of an order) with order_steps (one file per step) and
// challenge_publisher, renewal_info (ARI).
#include <functional>
#include <string>

#include "config/config.hpp"
#include "config/kek_file.hpp"
#include "crypto/key_encryption.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "issuance/ca_accounts.hpp"
#include "issuance/challenge_publisher.hpp"
#include "issuance/issue_start.hpp"
#include "issuance/order_runner.hpp"
#include "issuance/order_store.hpp"
#include "issuance/step_context.hpp"

namespace dnsh {

class Issuer {
public:
    // `stopRequested`: a scheduler worker's stop flag, which its steps heed at their stop
    // points (StepContext::stopPoint); none elsewhere.
    Issuer(Database& database, const Config& config, const DnsResolver& resolver,
           CaCaller caller, std::function<bool()> stopRequested = {});
    Issuer(const Issuer&) = delete;
    Issuer& operator=(const Issuer&) = delete;

    // POST /domains/{id}/issue-certificate and dnsh-admin retry (issue_start.hpp).
    StartedIssuance start(const std::string& domainId, IssueRequester requester);

    // One turn of a claimed order. Throws LeaseLost when another replica owns it now.
    StepOutcome advance(const std::string& orderId, const std::string& leaseOwner);

    // DELETE /domains/{id} (domain_removal.hpp).
    void deleteDomain(const std::string& domainId);

    // RFC 9773: asks the issuing CA's renewalInfo about a certificate again and records its
    // advice (nothing when that CA is not configured here: another replica may have it). False
    // when the CA did not answer, failed or rate-limited us (renewal_info.hpp).
    bool refreshRenewalInfo(const AriDue& due);

    const CaAccounts& cas() const { return cas_; }

private:
    Database& database_;
    const Config& config_;
    ChallengePublishers publishers_;
    KeyEncryptor encryptor_;
    CaAccounts cas_;
    EngineParts parts_;
};

// The KEK of the configuration: KEY_ENCRYPTION_KEY_FILE, required for issuance. Throws
// ConfigError when it is unset or its files cannot be used (none exists, one is unreadable,
// not a key, or open to group or others), as keyEncryptorFromFiles.
KeyEncryptor loadKeyEncryptor(const Config& config);

}  // namespace dnsh
