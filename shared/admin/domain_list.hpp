#pragma once
// dnsh-admin list (tools/dnsh_admin_domain_commands.cpp).
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "db/database.hpp"

namespace dnsh {

// dnsh-admin list: a domain with its newest certificate's dates (RFC 3339; "" when none).
struct DomainSummary {
    std::string id;
    std::string domainName;
    std::string status;
    std::string expiresAt;
    std::string renewAt;
};

// Every domain by soonest expiry of its current certificate (ties by registration, then id;
// those without a certificate last), optionally of one status and with a certificate expiring
// within `expiringWithin`, each handed to `each` as it comes. Read in pages walked by key, so
// memory stays bounded however many domains there are; a domain changed while the walk runs
// may be seen at its old place, its new one, or both.
void forEachDomainSummary(Database& database, const std::string& status,
                          std::optional<std::chrono::milliseconds> expiringWithin,
                          const std::function<void(const DomainSummary&)>& each);

}  // namespace dnsh
