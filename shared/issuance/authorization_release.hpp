#pragma once
// Giving the authorizations of an order nobody will finish back to the CA (RFC 8555 §7.5.2):
// a deleted domain's live order, a failed order, an order placed for a domain that went away.
#include <string>
#include <vector>

#include "db/database.hpp"
#include "domain/domain_repository.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

// The authorizations an order's challenges answer.
std::vector<HeldAuthorization> heldAuthorizations(const std::vector<OrderChallenge>& challenges);

// Of `held`, those `account`'s CA still shows pending: what a failed order gives back. A valid
// one stays, its domain's next order reuses it (RFC 8555 §7.1.4) where it would otherwise need a
// new value published. One not read (logged) is kept: a pending one expires at the CA anyway.
std::vector<HeldAuthorization> stillPending(AcmeAccount& account,
                                            const std::vector<HeldAuthorization>& held,
                                            const LogFields& fields);

// Deactivates those at `account`'s CA. A failure is logged, never thrown: the order has ended
// either way.
void giveBackAuthorizations(Database& database, AcmeAccount& account, const std::string& domainId,
                            const std::string& domainName,
                            const std::vector<HeldAuthorization>& held, const LogFields& fields);

}  // namespace dnsh
