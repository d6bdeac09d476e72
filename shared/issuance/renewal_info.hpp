#pragma once
// ACME Renewal Information (RFC 9773): the CA's advice on when to renew a certificate, and the
// CertID a renewal names as the certificate it replaces.
#include <Poco/Types.h>

#include <optional>
#include <string>

#include "acme/client.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"

namespace dnsh {

// The CA's renewal advice (RFC 9773 §4.2): when to renew, when to ask again.
struct AriAdvice {
    std::optional<Poco::Int64> renewAtEpochMs;  // none when the answer was unusable
    Poco::Int64 nextFetchMs = 0;
};

// Nothing when the directory has no renewalInfo.
std::optional<AriAdvice> askRenewalInfo(acme::Client& client, const std::string& leafPem);

// RFC 9773 §5: the CertID of the certificate a renewal replaces, when the CA offers ARI.
std::optional<std::string> ariReplaces(Database& database, acme::Client& client,
                                       const StoredOrder& order);

// Asks the CA's renewalInfo about a certificate again and records its advice.
void refreshRenewalInfo(Database& database, acme::Client& client, const AriDue& due);

}  // namespace dnsh
