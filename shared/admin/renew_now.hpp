#pragma once
// dnsh-admin renew (tools/dnsh_admin_domain_commands.cpp).
#include <string>

#include "db/database.hpp"

namespace dnsh {

// dnsh-admin renew: the newest certificate of an active domain renews now, whatever renew_at
// said. Error(NotFound) for an unknown domain, Error(BadRequest) when there is nothing to renew
// (not active, or a renewal already runs).
void renewNow(Database& database, const std::string& domainId);

}  // namespace dnsh
