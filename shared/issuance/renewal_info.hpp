#pragma once
// ACME Renewal Information (RFC 9773): the CA's advice on when to renew a certificate, and the
// CertID a renewal names as the certificate it replaces.
#include <Poco/Types.h>

#include <chrono>
#include <optional>
#include <string>

#include "acme/ari.hpp"
#include "acme/client.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"

namespace dnsh {

// The CA's renewal advice (RFC 9773 §4.2): when to renew, when to ask again.
struct AriAdvice {
    std::optional<Poco::Int64> renewAtEpochMs;  // none when the answer was unusable
    Poco::Int64 nextFetchMs = 0;
    std::string problem;  // why the answer was unusable ("" when it was)
    std::optional<acme::AriErrorKind> error;  // RFC 9773 §4.3.3's kind of the problem
    // The CA's window ended after the certificate's last tenth (less a margin, latestRenewal):
    // renewAtEpochMs is that time, earlier than the window (a warning names it).
    bool windowTooLate = false;
};

// Nothing when the directory has no renewalInfo, or could not be read (refreshRenewalInfo and
// refreshAriNow read it first, to tell a CA that is down from one without ARI). The next fetch
// waits what the CA's Retry-After says (clamped as RFC 9773 §4.3 asks; after an error as
// acme::ariErrorRetry says: minutes for a temporary one, 6 hours for a long-term one), at most
// `maxWait` (ARI_MAX_WAIT).
std::optional<AriAdvice> askRenewalInfo(acme::Client& client, const std::string& leafPem,
                                        std::chrono::milliseconds maxWait);

// Whether an error of this kind (RFC 9773 §4.3.3) puts off the CA's other certificates of the
// batch: a temporary or rate-limit error would most likely be the next one's too.
bool putsOffTheBatch(acme::AriErrorKind kind);

// RFC 9773 §5: the CertID of the certificate a renewal replaces, when the CA offers ARI.
std::optional<std::string> ariReplaces(Database& database, acme::Client& client,
                                       const StoredOrder& order);

// Nothing to ask about the certificate now (its CA's directory offers no renewalInfo): its
// renew_at kept, its next fetch `maxWait` (ARI_MAX_WAIT) from now, not the claim's 10-minute
// hold; and not never (NULL): a CA that comes to offer renewalInfo is asked again within
// ARI_MAX_WAIT without an ari-refresh.
void putOffRenewalInfo(Database& database, const std::string& certificateId,
                       std::chrono::milliseconds maxWait);

// Asks the CA's renewalInfo about a certificate again and records its advice. False when the CA
// did not answer (not reached, or its timeout spent), failed (5xx) or rate-limited us (429): the
// next request to it would most likely fare the same. When that was the directory's request,
// nothing is recorded and the claim's hold stands. A directory without renewalInfo:
// putOffRenewalInfo.
bool refreshRenewalInfo(Database& database, acme::Client& client, const AriDue& due,
                        std::chrono::milliseconds maxWait);

}  // namespace dnsh
