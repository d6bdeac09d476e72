#pragma once
// The dns-persist-01 question asked per name (draft-ietf-acme-dns-persist-00 §4.1.2), answered
// through the resolver: the customer's _validation-persist record looked up and judged for the
// CA's issuer-domain-names and our account (dns/persist_lookup.hpp). The CAA precheck asks it
// first (RFC 8657 §4: whether dns-persist-01 is one of our methods for the name), then placeOrder
// per authorization; each record is looked up once, and judged for each question asked of it (the
// precheck's caaIdentities, then the challenge's issuer-domain-names), so the precheck and the
// authorization never see two answers of one record. It keeps the check to show (the view's
// checks.persist): of placeOrder's, the first that was not usable, else the last. A record that
// is not usable sends the authorization to dns-01 (or, delegated, the CNAME path) as before, the
// reason logged and kept.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dns/persist_lookup.hpp"
#include "dns/resolver.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

class Database;

// The time a record's persistUntil is judged at (draft §4 item 5).
using PersistClock = std::function<std::chrono::system_clock::time_point()>;

// PostgreSQL's now(), one round trip through `database`: the clock of the stored check's
// checked_at (domain/check_times.hpp), so that the view never shows a checked_at before the
// persistUntil it calls passed, whatever this host's clock says.
PersistClock databaseClock(Database& database);

class PersistProbe {
public:
    // `domainId` only names the domain in log lines. `clock` (databaseClock) is read once, at the
    // first record with a value that may name persistUntil (no round trip for the others); the
    // time after that is its reading plus the time this host measured since.
    PersistProbe(const DnsResolver& resolver, std::string domainId, PersistClock clock)
        : resolver_(resolver), domainId_(std::move(domainId)), clock_(std::move(clock)) {}
    PersistProbe(const PersistProbe&) = delete;
    PersistProbe& operator=(const PersistProbe&) = delete;

    // For AcmeAccount::placeOrder; refers to this probe, which must outlive the call.
    PersistRecordUsable question();
    // For the CAA precheck, before the order: the CA's caaIdentities stand for the challenge's
    // issuer-domain-names (a CA copies them there, README "dns-persist-01"). Not shown: the view
    // shows the checks of authorizations that offered the method. A record not yet looked up is
    // looked up by `deadline` (the CAA precheck's, issuance/caa_lookups.hpp); one the deadline
    // cut short is not kept (placeOrder's question never judges it as a failed lookup).
    PersistCheck checkBeforeOrder(const std::string& name,
                                  const std::vector<std::string>& issuerDomains,
                                  const std::string& accountUrl,
                                  std::optional<DnsDeadline> deadline = std::nullopt);
    // Whether the customer published anything at the _validation-persist record of every one
    // of `names` (a TXT value, usable or not, for any CA): without that, no CA can validate the
    // whole order with dns-persist-01, and the placement asks no further CA about it
    // (ca_fallback.hpp). Each record looked up as checkBeforeOrder does, once; a lookup that
    // failed or that `deadline` cut short: false.
    bool publishedForEveryName(const std::vector<std::string>& names,
                               std::optional<DnsDeadline> deadline = std::nullopt);
    // Whether a checkBeforeOrder lookup was cut short by its deadline since resetCutShort.
    bool lookupCutShort() const { return lookupCutShort_; }
    // Each CA's check is judged by its own lookups (caa_precheck.cpp). A cut lookup was not
    // kept: a later check that needs it asks again and is cut again.
    void resetCutShort() { lookupCutShort_ = false; }
    // persistCheckJson of the check to show; none when placeOrder asked nothing.
    std::optional<std::string> checkJson() const;

private:
    struct Asked {
        std::string name;
        std::vector<std::string> issuerDomains;
        std::string accountUrl;
        PersistCheck check;
    };
    struct LookedUp {
        std::string recordName;
        TxtLookup lookup;
    };
    // The check of this question, judged the first time it is asked (kept unless its lookup was
    // cut short).
    PersistCheck checked(const std::string& name, const std::vector<std::string>& issuerDomains,
                         const std::string& accountUrl, std::optional<DnsDeadline> deadline);
    // The record of `name` ("x" and "*.x" share one), looked up (by `deadline`) the first time a
    // question needs it; `cutShort` set when the deadline cut the lookup short (not kept).
    TxtLookup lookedUp(const std::string& name, std::optional<DnsDeadline> deadline,
                       bool& cutShort);
    // The time `lookup` is judged at: clock_'s, read the first time a value may name
    // persistUntil; this host's when none does (the verdict does not look at it).
    std::chrono::system_clock::time_point judgedAt(const TxtLookup& lookup);

    struct ClockReading {
        std::chrono::system_clock::time_point read;
        std::chrono::steady_clock::time_point at;  // when, by this host's monotonic clock
    };

    const DnsResolver& resolver_;
    std::string domainId_;
    PersistClock clock_;
    std::optional<ClockReading> clockRead_;
    std::vector<LookedUp> lookedUp_;
    std::vector<Asked> asked_;
    std::optional<PersistCheck> shown_;
    bool lookupCutShort_ = false;
};

// Why a checked record is not usable: the lookup's failure or the verdict's outcome, with its
// detail ("" when it is usable).
std::string whyNotUsable(const PersistCheck& check);

}  // namespace dnsh
