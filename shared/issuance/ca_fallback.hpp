#pragma once
// Which CA takes an order (README "Several CAs"): the configured CAs in order of preference, the
// first one that is reachable, allowed by the names' CAA records and accepts the order. A CA is
// passed over when it does not answer (past the transport's retries), rate-limits us, refuses
// our account (External Account Binding; or the stored account on use: userActionRequired, new
// terms to agree to, or a deactivated or unknown account, passOverReason) or the order's
// profile, or CAA does not allow it (its precheck, or an authorization offering none of the
// methods CAA allows: refusedByCaa, the order abandoned), or its CAA allows only a method whose
// own lookup failed; any other refusal stops the search (another CA would refuse the names too),
// and so does a failed CAA lookup; but any refusal of a CA moved ahead for the customer's
// dns-persist-01 record (below) passes over to the CA it was moved ahead of.
// Each order starts from the first CA again, renewals included; but an order that would ask the
// customer for a dns-01 value goes first to a later CA where their dns-persist-01 record is
// usable for every name (README "dns-persist-01"), unless the domain is delegated.
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "db/database.hpp"
#include "dns/caa_check.hpp"
#include "dns/resolver.hpp"
#include "issuance/ca_accounts.hpp"
#include "issuance/caa_lookups.hpp"
#include "issuance/order_store.hpp"
#include "issuance/persist_probe.hpp"

namespace dnsh {

// One CA the order did not go to, and why.
struct CaPassedOver {
    std::string ca;  // its directory URL
    FailureCode code;
    std::string detail;
    std::optional<std::chrono::seconds> retryAfter;  // when the CA said (rate limits)
};

struct CaPlacement {
    AcmeAccount* account = nullptr;  // nullptr: no CA took the order
    PlacedOrder placed;
    // The CAA check of the CA that took the order, or else of the last CA asked: the domain
    // view's checks.caa.
    std::optional<CaaCheck> caa;
    // Set when a CAA lookup failed: the same DNS answers for every CA, so the search stopped.
    // Also when a method's own lookup failed (a CA whose CAA allows only dns-persist-01, its
    // record's lookup failing: that CA passed over, undecided) and every other CA was passed
    // over for CAA: `caa` is then the undecided CA's check.
    bool caaLookupFailed = false;
    std::vector<CaPassedOver> passedOver;
    // The error of the last CA passed over (one CA configured: answered as before there were
    // several).
    std::exception_ptr lastError;

    // Every CA passed over because CAA does not allow it (its precheck, or refusedByCaa after
    // newOrder): the customer's records must change.
    bool forbiddenByCaa() const;
    // Every CA passed over because of a rate limit (the CA's or our order budget).
    bool rateLimited() const;
    // The soonest a CA (or our order budget at it) said it may take orders again; nothing when
    // none said. The API's Retry-After and the scheduler's next attempt both wait that long.
    std::optional<std::chrono::seconds> soonestRetryAfter() const;
    // soonestRetryAfter(), or `fallback` when none said.
    std::chrono::seconds retryAfter(std::chrono::seconds fallback) const;
    // "primary (https://...): ca_unreachable: ...; secondary (...): ..." for messages and logs.
    std::string describe() const;
};

// Spends one token of the CA's order budget for an order that was exempt from it there
// (`exemptFromBudget`) and goes out without that exemption after all: a renewal's newOrder sent
// again without `replaces`, which the CA counts. Nothing when the CA has no budget. When the
// budget is spent it throws, and the CA is passed over as rate-limited, as when it was spent up
// front; the token comes back as that of any order the CA surely did not create.
using SpendBudgetToken = std::function<void()>;

// The order placed at one CA, given its CAA precheck.
using PlaceOrderAt =
    std::function<PlacedOrder(AcmeAccount&, const CaaCheck&, const SpendBudgetToken&)>;

// Tries each CA in turn: its CAA precheck (RFC 8659; `persist` tells where dns-persist-01 could
// validate a name, RFC 8657 §4), its order budget (a CA with ..._ORDER_BUDGET spent is passed
// over as rate-limited; `exemptFromBudget` says whether the order at that CA is a renewal sent
// with ARI `replaces`, which Let's Encrypt does not count), then `place` at it with that check
// (placeOrder answers only with the methods it allows) and the means to spend the token after
// all (SpendBudgetToken). An AcmeError of a kind listed above passes over to the next CA; any
// other error is thrown, but from a CA moved ahead (below): that one passes over too
// (RefusedWhenMovedAhead). A failed order gives its budget token back only when the CA surely
// created none: not when newOrder's answer was lost, nor when what followed newOrder failed
// (OrderAbandonedError; that order's authorizations are given back).
// `preferPersist` (the domain is not delegated: a dns-01 order asks the customer for a value):
// when the CA whose turn it is passes its check and would need dns-01 for a name, and the
// customer published a _validation-persist record at every name, the later CAs are checked
// then (once per placement), and the first whose check finds dns-persist-01 usable for every
// name (persistUsableForEveryName) is tried before it, logged with why; should that CA be passed
// over, the operator's order goes on from the CA it went ahead of. That move is a guess, so any
// refusal there passes over, one that passOverReason names no reason for as
// RefusedWhenMovedAhead: the CA it went ahead of passed its check and would have taken the
// order. A later CA's check made so is kept for its turn; one that threw (the CA unreachable)
// or that the deadline cut short only makes that CA no candidate.
// `domainId` is the order's domain, `domainName` its name. The CAA record sets come from
// `caaLookups`, each search asked once for all the CAs (every CA judges the same answer); a
// lookup its deadline cut short stops the search as a failed CAA lookup (caaLookupFailed,
// dns_timeout), whatever CA would come next. `beforeEachWait` runs before each CA is asked
// anything (its directory, our account there) and before each DNS question of the CAA checks: a
// scheduler worker extends its lease there, as nothing else bounds how long the CAs and lookups
// take; stopping, it may end the placement there by throwing (the scheduler's does only before
// its first `place`).
CaPlacement placeAtFirstAvailable(Database& database, const CaAccounts& cas,
                                  CaaLookups& caaLookups, const std::string& domainId,
                                  const std::string& domainName, PersistProbe& persist,
                                  bool preferPersist,
                                  const std::function<bool(AcmeAccount&)>& exemptFromBudget,
                                  const PlaceOrderAt& place,
                                  const std::function<void()>& beforeEachWait = [] {});

// Why a CA error sends the order to the next CA, named by the log line "CA passed over"
// (`reason`, toString's spelling).
enum class PassOverReason {
    Unreachable,
    RateLimited,
    CaaForbidden,
    ServerError,
    AccountRegistrationRefused,
    ExternalAccountRequired,
    InvalidProfile,
    UserActionRequired,  // RFC 8555 §7.3.3
    // unauthorized or accountDoesNotExist before newOrder took the order, with no subproblem
    // naming the names: §7.3.6's deactivated account.
    AccountRefused,
    // Any other refusal of a CA moved ahead for the customer's dns-persist-01 record
    // (placeAtFirstAvailable): never passOverReason's answer.
    RefusedWhenMovedAhead,
};

std::string_view toString(PassOverReason reason);

// Why the error passes the order over to the next CA; nothing when it stops the search (at a CA
// moved ahead for the customer's dns-persist-01 record placeAtFirstAvailable passes over all the
// same, as RefusedWhenMovedAhead).
std::optional<PassOverReason> passOverReason(const acme::AcmeError& error);

}  // namespace dnsh
