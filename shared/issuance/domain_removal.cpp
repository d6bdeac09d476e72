#include "issuance/domain_removal.hpp"

#include <vector>

#include "core/error.hpp"
#include "db/transaction.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_lock.hpp"
#include "domain/domain_repository.hpp"
#include "domain/domain_service.hpp"
#include "domain/outbox.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/delegation_cleanup.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// Deactivates `held` at their CAs, but for names another verified domain needs
// (giveBackAuthorizations). A CA's absence does not block the delete (nor does a CA no longer
// configured).
void giveBack(Database& database, const CaAccounts& cas, const Domain& domain,
              const std::vector<AuthorizationsAtCa>& held) {
    for (const AuthorizationsAtCa& atCa : held)
        if (AcmeAccount* account = cas.find(atCa.caDirectory))
            giveBackAuthorizations(database, *account, domain.id, domain.domainName,
                                   atCa.authorizations, {{"domain_id", domain.id}});
}

}  // namespace

void removeDomain(Database& database, const CaAccounts& cas, const std::string& domainId,
                  const std::string& delegationZone) {
    const Domain domain = findDomain(database, domainId);
    std::vector<AuthorizationsAtCa> held;
    const bool removed = database.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            // The domain's row first, as every store of a placed order takes it: an order stored
            // before it (issue-certificate's, a renewal's) is read here, and issue-certificate's
            // store waiting for this row finds the domain gone and gives its order back itself
            // (issue_start.cpp).
            if (!lockDomainToDelete(session, domain.id)) return false;
            held = DomainRepository(session).authorizationsToRelease(domain.id);
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
    // Given back only once the delete has committed (RFC 8555 §7.5.2), from the list read under
    // the domain's lock: a delete that fails (a lock timeout's 503) leaves the domain's live
    // order able to finish, and a client's retry of it gives them back then.
    giveBack(database, cas, domain, held);
}

}  // namespace dnsh
