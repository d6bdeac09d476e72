#include "issuance/challenge_publisher.hpp"

#include "domain/delegation.hpp"
#include "issuance/delegation_cleanup.hpp"
#include "log/log.hpp"

namespace dnsh {

DelegatedPublishes::DelegatedPublishes(Database& database, const Config& config)
    : database_(database), config_(config), updater_(DnsUpdater::fromConfig(config)) {}

std::string DelegatedPublishes::targetOf(const StoredOrder& order) const {
    return delegationTarget(order.verificationToken, order.domainName, config_.delegationZone);
}

std::optional<StepResult> DelegatedPublishes::present(StepContext& context) {
    StoredOrder& order = context.order();
    for (auto& challenge : order.challenges) {
        // A dns-persist-01 challenge has nothing to publish: the customer's record is the proof.
        if (!challenge.needsPublishing() || !challenge.publishedAt.empty()) continue;
        // Placed where DELEGATION_ZONE is set (turned on host by host): left to a replica that
        // can publish. With every value published, this one goes on: what it cannot remove at
        // the end is recorded as published, and such a replica's sweep removes it.
        if (!updater_)
            throw NotConfiguredHere{FailureCode::Internal,
                                    "the order is delegated but DELEGATION_ZONE is not "
                                    "configured on any scheduler that took the order",
                                    ""};
        const std::string target = targetOf(order);
        context.keepLease();
        const UpdateResult result = updater_->addTxt(DnsName(target), challenge.txtValue);
        // A refused update (wrong key, not allowed) or an unreachable primary: retried with
        // backoff until POLL_TIMEOUT, then failed with the reason.
        if (!result.ok()) {
            // No answer in time: the primary may have applied it all the same (a slow commit, a
            // lost answer), and cleanUp() removes only values recorded as published. Left to the
            // sweep, which keeps it while a live order has it and deletes it once the order
            // ends (a no-op when the add never landed).
            if (*result.failure == FailureCode::DnsTimeout)
                queueForSweep(order, target, challenge.txtValue, 0, result.detail);
            return retryLater(*result.failure, result.detail);
        }
        try {
            context.markPublished(challenge.authorizationUrl, target);
        } catch (const LeaseLost&) {
            // The order is gone (its domain deleted since keepLease) or another replica's now:
            // the value just added is left to the sweep, which keeps it while a live order has
            // it (delegation_cleanup.hpp).
            queueForSweep(order, target, challenge.txtValue, 0, "");
            throw;
        }
        challenge.publishedAt = target;
    }
    return std::nullopt;
}

void DelegatedPublishes::cleanUp(const StoredOrder& order) {
    for (const auto& challenge : order.challenges) {
        if (challenge.publishedAt.empty() || !updater_) continue;
        std::string detail;
        try {
            const UpdateResult result =
                updater_->deleteTxt(DnsName(challenge.publishedAt), challenge.txtValue);
            if (result.ok()) {
                database_.withSession([&](Poco::Data::Session& session) {
                    OrderStore(session).markUnpublished(order.id, challenge.authorizationUrl);
                    return true;
                });
                continue;
            }
            detail = result.detail;
        } catch (const std::exception& e) {
            detail = errorDetail(e);
        }
        // Tried again by the sweep, backing off from POLL_INTERVAL (delegation_cleanup.hpp);
        // should this write fail too, the sweep finds the value still recorded as published.
        queueForSweep(order, challenge.publishedAt, challenge.txtValue, 1, detail);
        logEvent(LogLevel::Warn, "delegated TXT value not removed",
                 {{"domain_id", order.domainId},
                  {"order_id", order.id},
                  {"retry_in_ms", static_cast<Poco::Int64>(
                                      delegationCleanupDelay(config_, 1).count())},
                  {"detail", detail}});
    }
}

void DelegatedPublishes::queueForSweep(const StoredOrder& order, const std::string& name,
                                       const std::string& value, int attempts,
                                       const std::string& error) {
    try {
        database_.withSession([&](Poco::Data::Session& session) {
            DelegationCleanupStore(session).queue(
                name, value, attempts, delegationCleanupDelay(config_, attempts).count(), error);
            return true;
        });
    } catch (const std::exception& e) {
        logEvent(LogLevel::Warn, "delegated TXT value not queued for removal",
                 {{"domain_id", order.domainId},
                  {"order_id", order.id},
                  {"detail", errorDetail(e)}});
    }
}

}  // namespace dnsh
