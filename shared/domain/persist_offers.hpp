#pragma once
// The dns-persist-01 records a customer can publish once (draft-ietf-acme-dns-persist-00 §4;
// README "dns-persist-01: one record, set once"): one per configured CA, in order of preference,
// naming that CA's issuer domain and our account URL there. POST /domains and the domain view show
// them as `persist`. The scheduler registers our accounts and keeps each CA's issuer
// (AcmeAccount::recordPersistIssuer); a CA not ready yet, or whose last authorization for a name
// (a wildcard's without it is passed over: AcmeAccount::notePersistOffer) did not offer the
// method, has no record to give.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"

namespace dnsh {

struct PersistOffer {
    std::string ca;            // the CA's directory URL, as `ca` everywhere else
    std::string issuerDomain;  // its first issuer-domain-name (§3.1)
    std::string accountUrl;    // our account there: the record's accounturi (§4)
};

// Every configured CA with an offer, most preferred first, from `rows` of acme_accounts
// (directory_url, account_url, persist_issuer, persist_offered). Pure: the tests' entry.
struct PersistAccountRow {
    std::string directoryUrl;
    std::string accountUrl;     // "" before registration
    std::string persistIssuer;  // "" when unknown
    std::optional<bool> offered;
};
std::vector<PersistOffer> persistOffersOf(const std::vector<CaSettings>& cas,
                                          const std::vector<PersistAccountRow>& rows);

// The offers, read from the database at most every 10 s per process (every second while a
// configured CA has none yet, so a first registration shows at once): a view costs no extra
// round trip. An error reading them leaves the last ones (none at first) and is logged.
std::vector<PersistOffer> persistOffers(Database& database, const Config& config);

}  // namespace dnsh
