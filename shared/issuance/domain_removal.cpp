#include "issuance/domain_removal.hpp"

#include <vector>

#include "core/error.hpp"
#include "db/transaction.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_repository.hpp"
#include "domain/domain_service.hpp"
#include "domain/outbox.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/delegation_cleanup.hpp"
#include "log/log.hpp"

namespace dnsh {

void removeDomain(Database& database, const CaAccounts& cas, const std::string& domainId,
                  const std::string& delegationZone) {
    const Domain domain = findDomain(database, domainId);
    const std::vector<AuthorizationsAtCa> held =
        database.withSession([&](Poco::Data::Session& session) {
            return DomainRepository(session).authorizationsToRelease(domain.id);
        });
    // A CA's absence does not block the delete (nor does a CA no longer configured).
    for (const AuthorizationsAtCa& atCa : held)
        if (AcmeAccount* account = cas.find(atCa.caDirectory))
            giveBackAuthorizations(database, *account, domain.id, domain.domainName,
                                   atCa.authorizations, {{"domain_id", domain.id}});
    const bool removed = database.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            // domain.deleted carries the view as it was just before the delete.
            recordDomainEvent(session, EventType::DomainDeleted, domain.id);
            // What its orders published in the delegation zone outlives them: the scheduler's
            // sweep removes it (this process has no update key).
            DelegationCleanupStore(session).queueOfDomain(
                domain.id, delegationZone.empty() ? "" : delegationTarget(domain, delegationZone));
            return DomainRepository(session).remove(domain.id);
        });
    });
    if (!removed) throw Error(ErrorCode::NotFound, "domain not found");
    logEvent(LogLevel::Info, "domain deleted", {{"domain_id", domain.id}});
}

}  // namespace dnsh
