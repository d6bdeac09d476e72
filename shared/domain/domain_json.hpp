#pragma once
// The API's JSON views of domains and certificates (README "API"), as JSON text.
#include <optional>
#include <string>
#include <vector>

#include "domain/domain.hpp"

namespace dnsh {

// GET /domains/{id}, verify: the domain with what its status makes relevant. `delegationZone`
// (DELEGATION_ZONE, may be empty) adds the delegation object.
std::string domainJson(const Domain& domain, const std::string& delegationZone);

// POST /domains: the new domain with its token and the instructions to publish it.
std::string registrationJson(const Domain& domain, const std::string& delegationZone);

std::string certificateJson(const CertificateInfo& certificate);

// GET /domains: {items: [domain views], next_cursor: string|null}.
std::string domainPageJson(const std::vector<Domain>& items,
                           const std::optional<std::string>& nextCursor,
                           const std::string& delegationZone);

// What to tell the customer to publish (every value: a wildcard order has two at one name).
std::string publishInstructions(const std::vector<PendingChallenge>& challenges);

}  // namespace dnsh
