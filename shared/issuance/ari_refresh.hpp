#pragma once
// dnsh-admin ari-refresh: the CA's renewalInfo (RFC 9773) asked again now, for one domain's
// current certificate or for every active domain's, instead of when its Retry-After ends. A CA
// that pulled a window forward (a mass revocation: the window is "now" or already past) gets
// its renewals started at the scheduler's next scan, within a second.
#include <Poco/Types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "acme/client.hpp"
#include "core/enum_names.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"

namespace dnsh {

enum class AriRefreshOutcome {
    DueNow,          // the picked time has come: the renewal starts at the next scan
    Scheduled,       // renew_at moved to the picked time, still ahead
    RenewalRunning,  // a renewal order already runs; its certificate replaces this one
    NotUsable,       // the CA's answer was an error or malformed, or its directory could not
                     // be read: renew_at kept (§4.3.3)
    NotOffered,      // the CA's directory, read, has no renewalInfo
    NotRecorded,     // --all: the answer could not be stored (refused by the database): ask again
};

inline constexpr EnumNames<AriRefreshOutcome, 6> kAriRefreshOutcomeNames{{{
    {AriRefreshOutcome::DueNow, "due_now"},
    {AriRefreshOutcome::Scheduled, "scheduled"},
    {AriRefreshOutcome::RenewalRunning, "renewal_running"},
    {AriRefreshOutcome::NotUsable, "not_usable"},
    {AriRefreshOutcome::NotOffered, "not_offered"},
    {AriRefreshOutcome::NotRecorded, "not_recorded"},
}}};

inline std::string_view toString(AriRefreshOutcome outcome) {
    return kAriRefreshOutcomeNames.toString(outcome);
}

struct AriRefreshed {
    CurrentCertificate current;
    AriRefreshOutcome outcome = AriRefreshOutcome::NotOffered;
    // renew_at as stored after the refresh; none when nothing was recorded (the CA not asked)
    std::optional<Poco::Int64> renewAtEpochMs;
    std::string detail;  // NotUsable: what was wrong with the answer; NotRecorded: the error
    // DueNow/Scheduled: the CA's window ended after the certificate's last tenth (less a
    // margin, latestRenewal), so renew_at is that time, before the window
    bool beforeCaWindow = false;
};

// One certificate: renewalInfo asked now, its advice recorded as the scheduler records it (the
// next fetch at most `maxWait` away). A directory that could not be read (the CA not reached,
// its timeout spent, a 5xx) is NotUsable, its detail naming the CA and the kind of error, and
// nothing is recorded: not NotOffered, which says the CA has no renewalInfo.
AriRefreshed refreshAriNow(Database& database, acme::Client& client,
                           std::chrono::milliseconds maxWait, const CurrentCertificate& current);

// The client speaking to the CA of a directory URL; nullptr when that CA is not configured.
using ClientOfCa = std::function<acme::Client*(const std::string& directoryUrl)>;

// The domain's current certificate, asked at the CA that issued it. Error(NotFound) for an
// unknown domain id, Error(BadRequest) when the domain has no certificate yet or its CA is no
// longer configured.
AriRefreshed refreshAriForDomain(Database& database, const ClientOfCa& clientOf,
                                 std::chrono::milliseconds maxWait, const std::string& domainId);

// Every active domain's current certificate that the CA of `directoryUrl` issued, page by page;
// `each` sees every result as it comes. A certificate whose answer PostgreSQL refused is reported
// as NotRecorded: for its rows' contention (a lock timeout, a deadlock PostgreSQL broke) the
// others are still asked, until three answers in a row meet it (the table held by another
// transaction: Error(DatabaseTimeout) "N answers in a row could not be stored" is thrown next);
// for the database's own failure (a full disk, out of memory, a read-only server, a statement
// timeout: Error(DatabaseTimeout) or Error(DatabaseUnavailable)) that error is thrown next. No
// other certificate is asked after either. A connection lost while storing
// it is thrown unreported (the answer may have been stored). Once the CA's directory could not be
// read, or the CA did not answer, failed or rate-limited us (as the scheduler's batch is put
// off), its remaining certificates are reported as that one was, without a request: one
// timeout for the run, not one per certificate. Returns how many were reported.
int refreshAriForAll(Database& database, acme::Client& client, const std::string& directoryUrl,
                     std::chrono::milliseconds maxWait,
                     const std::function<void(const AriRefreshed&)>& each);

}  // namespace dnsh
