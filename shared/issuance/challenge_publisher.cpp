#include "issuance/challenge_publisher.hpp"

#include "domain/delegation.hpp"
#include "log/log.hpp"

namespace dnsh {

DelegatedPublishes::DelegatedPublishes(Database& database, const Config& config)
    : database_(database), config_(config), updater_(DnsUpdater::fromConfig(config)) {}

std::string DelegatedPublishes::targetOf(const StoredOrder& order) const {
    return delegationTarget(order.verificationToken, order.domainName, config_.delegationZone);
}

std::optional<StepResult> DelegatedPublishes::present(StepContext& context) {
    if (!updater_)
        return failOrder(FailureCode::Internal,
                         "the order is delegated but DELEGATION_ZONE is not configured");
    StoredOrder& order = context.order();
    const std::string target = targetOf(order);
    for (auto& challenge : order.challenges) {
        // A dns-persist-01 challenge has nothing to publish: the customer's record is the proof.
        if (!challenge.needsPublishing() || !challenge.publishedAt.empty()) continue;
        context.keepLease();
        const UpdateResult result = updater_->addTxt(DnsName(target), challenge.txtValue);
        // A refused update (wrong key, not allowed) or an unreachable primary: retried with
        // backoff until POLL_TIMEOUT, then failed with the reason.
        if (!result.ok()) return retryLater(*result.failure, result.detail);
        context.markPublished(challenge.authorizationUrl, target);
        challenge.publishedAt = target;
    }
    return std::nullopt;
}

void DelegatedPublishes::cleanUp(const StoredOrder& order) {
    for (const auto& challenge : order.challenges) {
        if (challenge.publishedAt.empty() || !updater_) continue;
        try {
            const UpdateResult result =
                updater_->deleteTxt(DnsName(challenge.publishedAt), challenge.txtValue);
            if (!result.ok()) {
                logEvent(LogLevel::Warn, "delegated TXT value not removed",
                         {{"domain_id", order.domainId},
                          {"order_id", order.id},
                          {"detail", result.detail}});
                continue;
            }
            database_.withSession([&](Poco::Data::Session& session) {
                OrderStore(session).markUnpublished(order.id, challenge.authorizationUrl);
                return true;
            });
        } catch (const std::exception& e) {
            logEvent(LogLevel::Warn, "delegated TXT value not removed",
                     {{"domain_id", order.domainId},
                      {"order_id", order.id},
                      {"detail", errorDetail(e)}});
        }
    }
}

}  // namespace dnsh
