#pragma once
// Certificate issuance and renewal: the handler's start (account, order, dns-01 challenges, move
// to certificate_pending) and the scheduler's resumable steps of an order. Every step persists
// its progress before the next one begins, so a process killed at any point resumes without a
// lost key or a second certificate.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "db/database.hpp"
#include "dns/dns_update.hpp"
#include "dns/resolver.hpp"
#include "domain/domain.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

struct StartedIssuance {
    std::string orderId;
    std::string challengeDomain;
    std::vector<PendingChallenge> challenges;  // empty: the CA holds valid authorizations
    bool delegated = false;                    // the service publishes the values itself
};

// What one scheduler step decided: come back after `delay`, or the order is done (valid,
// failed or replaced).
struct StepOutcome {
    StepOutcome(bool finishedNow, std::chrono::milliseconds retryIn, std::string stepName)
        : finished(finishedNow), delay(retryIn), step(std::move(stepName)) {}

    bool finished = false;
    std::chrono::milliseconds delay{0};
    std::string step;      // for the log
    std::string domainId;  // for the log (set by advance)
    // The next attempt is a DNS poll (the values were not visible yet), which POST .../check
    // may bring forward; not a backoff after an error, which nothing brings forward.
    bool dnsPoll = false;
};

// Who waits on the CA, and so how long one request to it may take: an API handler
// (ACME_HANDLER_TIMEOUT: a client waits, a FastCGI process is held) or a scheduler worker and
// dnsh-admin (ACME_SCHEDULER_TIMEOUT).
enum class CaCaller { Handler, Scheduler };

class Issuer {
public:
    Issuer(Database& database, const Config& config, const DnsResolver& resolver,
           CaCaller caller);

    // POST /domains/{id}/issue-certificate: claims the domain in the database (at most one live
    // CA order per domain), then places the order at the CA. Errors: NotFound, BadRequest (not
    // verified or failed), Conflict (an order is in progress or being placed), TooManyRequests
    // (within the retry backoff after a failure), BadGateway (CA unreachable, slower than
    // ACME_HANDLER_TIMEOUT or refusing; with a Retry-After when trying again may help; the
    // domain is unchanged).
    StartedIssuance start(const std::string& domainId);

    // One step of a claimed order. Throws LeaseLost when another replica owns it now.
    StepOutcome advance(const std::string& orderId, const std::string& leaseOwner);

    // DELETE /domains/{id}: deactivates the live order's authorizations at the CA when it can
    // (its absence does not block the delete), then removes the domain with its orders,
    // challenges, certificates and sealed keys in one statement. NotFound when unknown.
    void deleteDomain(const std::string& domainId);

    // RFC 9773: asks the CA's renewalInfo about a certificate again and records its advice.
    void refreshRenewalInfo(const AriDue& due);

private:
    // The CA's renewal advice (RFC 9773 §4.2): when to renew, when to ask again. Nothing when
    // the directory has no renewalInfo.
    struct AriAdvice {
        std::optional<Poco::Int64> renewAtEpochMs;  // none when the answer was unusable
        Poco::Int64 nextFetchMs = 0;
    };
    std::optional<AriAdvice> askRenewalInfo(const std::string& leafPem);

    struct Claim {
        StoredOrder order;
        std::string owner;
        // Until when the lease is surely ours (this process's clock, from the claim or the last
        // extension).
        std::chrono::steady_clock::time_point leaseUntil;
    };

    // RFC 8555 §7.5.2, for orders nobody will finish; a failure is logged, never thrown.
    void deactivateAuthorizations(const std::vector<std::string>& urls, const LogFields& fields);
    void ensureAccount();
    void reRegister();
    template <typename Call>
    auto withAccount(Call&& call) -> decltype(call());
    // Extends the lease (LeaseLost when it is gone), so a step that chains several slow CA
    // calls never outlives it unnoticed.
    void keepLease(Claim& claim);
    // Persists the next step (lease-guarded) and continues with it.
    void moveTo(Claim& claim, OrderStep step);
    // A CA call made while holding the lease: the lease is extended first.
    template <typename Call>
    auto caCall(Claim& claim, Call&& call) -> decltype(call());
    PlacedOrder placeOrder(const std::string& domainName, const std::string& replaces,
                           const std::function<void()>& beforeEachCall);
    template <typename Store>
    auto store(Store&& work);

    StepOutcome stepOrError(Claim& claim);  // the step, its errors counted against the order
    StepOutcome step(Claim& claim);
    StepOutcome onError(Claim& claim, const std::string& reason, const std::string& errorCode,
                        bool retryable, std::optional<std::chrono::seconds> retryAfter);
    // `renewalRetry`: when a failed renewal is tried again (default: the backoff).
    StepOutcome fail(Claim& claim, const std::string& reason, const std::string& errorCode,
                     std::optional<std::chrono::milliseconds> renewalRetry = std::nullopt);
    // Delegated orders: adds the values at the delegation target (RFC 2136), or removes them.
    std::optional<StepOutcome> publish(Claim& claim);
    void unpublish(const StoredOrder& order);
    std::string delegationTargetOf(const StoredOrder& order) const;
    StepOutcome replace(Claim& claim, const std::string& why);
    StepOutcome placeOrderStep(Claim& claim);
    StepOutcome awaitDns(Claim& claim);
    StepOutcome awaitAuthorization(Claim& claim);
    StepOutcome finalize(Claim& claim);
    StepOutcome awaitOrder(Claim& claim);
    Pkey certificateKey(Claim& claim);
    std::optional<std::string> ariReplaces(const StoredOrder& order);

    Database& database_;
    const Config& config_;
    const DnsResolver& resolver_;
    std::optional<DnsUpdater> updater_;  // DELEGATION_ZONE set
    KeyEncryptor encryptor_;
    acme::Transport transport_;
    acme::Client client_;
    Pkey accountKey_;
    Poco::Int64 accountId_ = 0;
};

// The KEK of the configuration: KEY_ENCRYPTION_KEY_FILE, required for issuance.
KeyEncryptor loadKeyEncryptor(const Config& config);

// DESIGN.md error_code of a CA error: ca_unreachable, ca_rate_limited or ca_refused.
std::string errorCodeOf(const acme::AcmeError& error);

}  // namespace dnsh
