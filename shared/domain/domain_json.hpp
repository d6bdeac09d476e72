#pragma once
// The API's JSON views of domains and certificates (README "API"), as JSON text.
#include <optional>
#include <string>
#include <vector>

#include "domain/domain.hpp"
#include "domain/persist_offers.hpp"

namespace dnsh {

// What a view adds to the domain's own state: DELEGATION_ZONE (may be empty) adds the delegation
// object, each persist offer one `persist` record (none: no `persist` member).
struct ViewSettings {
    std::string delegationZone;
    std::vector<PersistOffer> persistOffers;
};

// The settings of the handlers' views: the zone and persistOffers (read at most every 10 s).
ViewSettings viewSettings(Database& database, const Config& config);

// GET /domains/{id}, verify: the domain with what its status makes relevant.
std::string domainJson(const Domain& domain, const ViewSettings& settings);

// POST /domains: the new domain with its token and the instructions to publish it.
std::string registrationJson(const Domain& domain, const ViewSettings& settings);

std::string certificateJson(const CertificateInfo& certificate);

// GET /domains: {items: [domain views], next_cursor: string|null}.
std::string domainPageJson(const std::vector<Domain>& items,
                           const std::optional<std::string>& nextCursor,
                           const ViewSettings& settings);

// What to tell the customer to publish (every value: a wildcard order has two at one name).
std::string publishInstructions(const std::vector<PendingChallenge>& challenges);

}  // namespace dnsh
