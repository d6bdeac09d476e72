#include "issuance/domain_removal.hpp"

#include <set>
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

// Of `now`, the authorizations `before` did not list.
std::vector<AuthorizationsAtCa> notListedBefore(const std::vector<AuthorizationsAtCa>& now,
                                                const std::vector<AuthorizationsAtCa>& before) {
    std::set<std::string> listed;
    for (const AuthorizationsAtCa& atCa : before)
        for (const HeldAuthorization& authorization : atCa.authorizations)
            listed.insert(authorization.url);
    std::vector<AuthorizationsAtCa> added;
    for (const AuthorizationsAtCa& atCa : now) {
        AuthorizationsAtCa fresh{atCa.caDirectory, {}};
        for (const HeldAuthorization& authorization : atCa.authorizations)
            if (listed.count(authorization.url) == 0) fresh.authorizations.push_back(authorization);
        if (!fresh.authorizations.empty()) added.push_back(std::move(fresh));
    }
    return added;
}

}  // namespace

void removeDomain(Database& database, const CaAccounts& cas, const std::string& domainId,
                  const std::string& delegationZone) {
    const Domain domain = findDomain(database, domainId);
    // Given back before the delete, while the domain's row is not held: each is one CA request
    // (RFC 8555 §7.5.2), and the scheduler's writes on the domain wait for that row.
    const std::vector<AuthorizationsAtCa> held =
        database.withSession([&](Poco::Data::Session& session) {
            return DomainRepository(session).authorizationsToRelease(domain.id);
        });
    giveBack(database, cas, domain, held);
    std::vector<AuthorizationsAtCa> heldAtDelete;
    const bool removed = database.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            // The domain's row first, as every store of a placed order takes it: one stored while
            // the first ones were given back (issue-certificate's, a renewal's) is read here,
            // and issue-certificate's store waiting for this row finds the domain gone and gives
            // its order back itself (issue_start.cpp).
            if (!lockDomainToDelete(session, domain.id)) return false;
            heldAtDelete = DomainRepository(session).authorizationsToRelease(domain.id);
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
    // The orders stored while the first ones were given back went with the domain: their URLs
    // were read under its lock, just before.
    giveBack(database, cas, domain, notListedBefore(heldAtDelete, held));
}

}  // namespace dnsh
