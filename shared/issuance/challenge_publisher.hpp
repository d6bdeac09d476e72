#pragma once
// How an order's dns-01 values get to where the CA looks (RFC 8555 §8.4), and away again: the
// customer publishes them (the values are shown; nothing for us to do), or the service publishes
// them at the domain's delegation target with RFC 2136 updates (README "Zero-touch"). Another
// method of publishing (dns-persist-01, say) is one more ChallengePublisher.
#include <optional>
#include <string>

#include "config/config.hpp"
#include "db/database.hpp"
#include "dns/dns_update.hpp"
#include "issuance/order_store.hpp"
#include "issuance/step_context.hpp"
#include "issuance/step_result.hpp"

namespace dnsh {

class ChallengePublisher {
public:
    virtual ~ChallengePublisher() = default;
    // Puts every value of the claimed order in place (lease-guarded); nothing when they are, else
    // the verdict (an update refused: retried; publishing impossible: failed).
    virtual std::optional<StepResult> present(StepContext& context) = 0;
    // Removes what present() put in place, once the order is finished (valid, failed or
    // replaced); a failure is logged and left to the scheduler's sweep, never thrown.
    virtual void cleanUp(const StoredOrder& order) = 0;
};

// The customer publishes (the values are in the API's answers); the service does nothing.
class CustomerPublishes : public ChallengePublisher {
public:
    std::optional<StepResult> present(StepContext&) override { return std::nullopt; }
    void cleanUp(const StoredOrder&) override {}
};

// The service publishes through the domain's delegation CNAME: TSIG-signed RFC 2136 updates to
// the delegation zone's primary (DELEGATION_ZONE, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG).
class DelegatedPublishes : public ChallengePublisher {
public:
    DelegatedPublishes(Database& database, const Config& config);

    std::optional<StepResult> present(StepContext& context) override;
    void cleanUp(const StoredOrder& order) override;

    // DELEGATION_ZONE is set: a delegated domain's renewal checks its CNAME first.
    bool configured() const { return updater_.has_value(); }
    // Where the domain's CNAME points: the name the values are published at.
    std::string targetOf(const StoredOrder& order) const;

private:
    // Left to the sweep (issuance/delegation_cleanup.hpp), `attempts` made; a failure logged.
    void queueForSweep(const StoredOrder& order, const std::string& name,
                       const std::string& value, int attempts, const std::string& error);

    Database& database_;
    const Config& config_;
    std::optional<DnsUpdater> updater_;
};

class ChallengePublishers {
public:
    ChallengePublishers(Database& database, const Config& config)
        : delegated_(database, config) {}

    ChallengePublisher& of(const StoredOrder& order) {
        if (order.delegated) return delegated_;
        return customer_;
    }
    DelegatedPublishes& delegated() { return delegated_; }

private:
    CustomerPublishes customer_;
    DelegatedPublishes delegated_;
};

}  // namespace dnsh
