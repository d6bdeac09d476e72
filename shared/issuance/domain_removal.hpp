#pragma once
// DELETE /domains/{id} (and dnsh-admin delete).
#include <string>

#include "db/database.hpp"
#include "issuance/ca_accounts.hpp"

namespace dnsh {

// Deactivates the authorizations of the live order and of the failed ones (valid ones a failure
// kept; DomainRepository::authorizationsToRelease) at their CA when it can, but for names another
// verified domain needs (issuance/authorization_release.hpp; the CA's absence does not block
// the delete), then removes the domain with its orders, challenges, certificates and sealed keys
// in one statement. That transaction locks the domain's row first and reads the authorizations
// again: those of an order stored while the first ones were given back (issue-certificate's
// retry, a renewal) are given back after it commits. In it too, the values its orders published
// (or may be publishing) in the delegation zone are queued for the scheduler's sweep
// (issuance/delegation_cleanup.hpp; `delegationZone`: DELEGATION_ZONE, "" when off).
// NotFound when unknown.
void removeDomain(Database& database, const CaAccounts& cas, const std::string& domainId,
                  const std::string& delegationZone);

}  // namespace dnsh
