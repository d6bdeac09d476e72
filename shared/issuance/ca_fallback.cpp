#include "issuance/ca_fallback.hpp"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string_view>

#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "domain/domain_name.hpp"
#include "issuance/authorization_release.hpp"
#include "issuance/caa_precheck.hpp"
#include "issuance/order_budget.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// RFC 8555 §7.3.6: "If a server receives a POST or POST-as-GET from a deactivated account, it MUST
// return an error response with status code 401 (Unauthorized) and type
// "urn:ietf:params:acme:error:unauthorized"". accountDoesNotExist is the refusal AcmeAccount::call
// registers the same key again for; one that still comes back is a CA that will not take the
// account. Either is about our account, not the customer's names, when it came before newOrder
// took the order (an OrderAbandonedError comes after: the account was accepted then) and the
// problem lists no subproblem: subproblems (§6.7.1) are how a CA ties an error to identifiers,
// as when it cannot issue for some names of a newOrder. An `unauthorized` listing them refuses
// the names (each logged as "acme subproblem" with its identifier): it stops the search and is
// answered as the CA's refusal (ca_refused, its detail), as before, not hidden behind an order
// at the next CA.
bool ourAccountRefused(const acme::AcmeError& error) {
    if (!error.is(acme::ProblemType::kUnauthorized) &&
        !error.is(acme::ProblemType::kAccountDoesNotExist))
        return false;
    return dynamic_cast<const OrderAbandonedError*>(&error) == nullptr &&
           error.problem().subproblems == 0;
}

// The log's `reason` (README "Several CAs"), spelled once.
constexpr EnumNames<PassOverReason, 10> kPassOverReasons{{{
    {PassOverReason::Unreachable, "unreachable"},
    {PassOverReason::RateLimited, "rate_limited"},
    {PassOverReason::CaaForbidden, "caa_forbidden"},
    {PassOverReason::ServerError, "server_error"},
    {PassOverReason::AccountRegistrationRefused, "account_registration_refused"},
    {PassOverReason::ExternalAccountRequired, "external_account_required"},
    {PassOverReason::InvalidProfile, "invalid_profile"},
    {PassOverReason::UserActionRequired, "user_action_required"},
    {PassOverReason::AccountRefused, "account_refused"},
    {PassOverReason::RefusedWhenMovedAhead, "refused_when_moved_ahead"},
}}};

}  // namespace

std::string_view toString(PassOverReason reason) { return kPassOverReasons.toString(reason); }

std::optional<PassOverReason> passOverReason(const acme::AcmeError& error) {
    if (error.unreachable()) return PassOverReason::Unreachable;
    if (error.is(acme::ProblemType::kRateLimited)) return PassOverReason::RateLimited;
    // As when its precheck forbids: another CA's CAA may allow a method we can use.
    if (refusedByCaa(error)) return PassOverReason::CaaForbidden;
    // 5xx after the transport's own retries: the CA is not taking orders now.
    if (error.problem().status >= 500) return PassOverReason::ServerError;
    if (dynamic_cast<const AccountRegistrationError*>(&error) != nullptr)
        return PassOverReason::AccountRegistrationRefused;
    if (error.is(acme::ProblemType::kExternalAccountRequired))
        return PassOverReason::ExternalAccountRequired;
    if (error.is(acme::ProblemType::kInvalidProfile)) return PassOverReason::InvalidProfile;
    // RFC 8555 §7.3.3: the CA wants a person to act for our account (new terms of service to
    // agree to) before it takes any order from it: nothing about the names, and every order
    // there meets it until someone does.
    if (error.is(acme::ProblemType::kUserActionRequired))
        return PassOverReason::UserActionRequired;
    if (ourAccountRefused(error)) return PassOverReason::AccountRefused;
    return std::nullopt;
}

bool CaPlacement::forbiddenByCaa() const {
    return !passedOver.empty() &&
           std::all_of(passedOver.begin(), passedOver.end(), [](const CaPassedOver& p) {
               return p.code == FailureCode::CaaForbidden;
           });
}

bool CaPlacement::rateLimited() const {
    return !passedOver.empty() &&
           std::all_of(passedOver.begin(), passedOver.end(), [](const CaPassedOver& p) {
               return p.code == FailureCode::CaRateLimited;
           });
}

std::optional<std::chrono::seconds> CaPlacement::soonestRetryAfter() const {
    std::optional<std::chrono::seconds> soonest;
    for (const auto& passed : passedOver)
        if (passed.retryAfter && (!soonest || *passed.retryAfter < *soonest))
            soonest = passed.retryAfter;
    return soonest;
}

std::chrono::seconds CaPlacement::retryAfter(std::chrono::seconds fallback) const {
    return soonestRetryAfter().value_or(fallback);
}

std::string CaPlacement::describe() const {
    std::string text;
    for (const auto& passed : passedOver)
        text += (text.empty() ? "" : "; ") + passed.ca + ": " + std::string(toString(passed.code)) +
                ": " + passed.detail;
    return text;
}

namespace {

// One token of the CA's order budget (issuance/order_budget.hpp): nothing when it has none
// configured or the order is exempt, else whether it was granted.
std::optional<BudgetDecision> spendBudget(Database& database, const AcmeAccount& account) {
    const auto& budget = account.ca().orderBudget;
    if (!budget) return std::nullopt;
    return database.withSession([&](Poco::Data::Session& session) {
        return spendOrder(session, account.ca().directoryUrl, *budget);
    });
}

void refundBudget(Database& database, const AcmeAccount& account) {
    try {
        database.withSession([&](Poco::Data::Session& session) {
            return refundOrder(session, account.ca().directoryUrl, *account.ca().orderBudget);
        });
    } catch (const std::exception& e) {
        // The token comes back with the refill anyway; the order's own error matters more.
        logEvent(LogLevel::Warn, "order budget token not given back",
                 {{"ca", account.ca().directoryUrl}, {"detail", errorDetail(e)}});
    }
}

// RFC 8555 §7.4: a CA counts every order it created, used or not, so its token stays spent:
// newOrder's answer was lost (the CA may have created it), or newOrder succeeded and what
// followed failed.
bool caMayHoldTheOrder(const acme::AcmeError& error) {
    return error.outcomeUnknown() || dynamic_cast<const OrderAbandonedError*>(&error) != nullptr;
}

// RFC 8555 §7.5.2: an order abandoned after newOrder gives back its authorizations not seen
// valid, those no other verified domain needs (authorization_release.hpp): nobody will answer
// them, its URL never being stored. A CA that did not answer would not answer this either; the
// order then expires there.
// A request the caller's budget cut or did not send (acme/call_budget.hpp) says nothing of the
// CA: the give-back still asks. It has each request's own timeout, not what is left of that
// budget, as the give-backs after the placement have (README "The 60-second CA stalls").
void giveBackAbandonedOrder(Database& database, AcmeAccount& account, const std::string& domainId,
                            const std::string& domainName, const acme::AcmeError& error) {
    const auto* abandoned = dynamic_cast<const OrderAbandonedError*>(&error);
    const acme::CallBudget* budget = account.callBudget();
    const bool cutByBudget = budget != nullptr && budget->anyRequestCut();
    if (abandoned == nullptr || (abandoned->unreachable() && !cutByBudget)) return;
    const CallBudgetOn ownTimeouts(account, nullptr);
    giveBackAuthorizations(database, account, domainId, domainName,
                           abandoned->authorizationsNotValid(),
                           {{"domain_id", domainId},
                            {"ca", account.ca().directoryUrl},
                            {"order_url", abandoned->orderUrl()}});
}

// Whether the lookup of a name's CAA record set failed, rather than only that of a method CAA
// needs (CaaNameCheck::undecided).
bool caaLookupItselfFailed(const CaaCheck& caa) {
    return std::any_of(caa.names.begin(), caa.names.end(),
                       [](const CaaNameCheck& name) { return name.lookup.failed(); });
}

std::chrono::seconds wholeSeconds(std::chrono::milliseconds wait) {
    return std::chrono::seconds((wait.count() + 999) / 1000);
}

// Thrown by the SpendBudgetToken handed to `place` when the CA's budget is spent: how long
// until a token is back. No std::exception: only placeAtFirstAvailable catches it.
struct BudgetSpent {
    std::chrono::milliseconds retryAfter;
};

// The CA passed over because its order budget is spent (README "Order budgets").
CaPassedOver budgetSpentAt(const AcmeAccount& account, std::chrono::milliseconds retryAfter) {
    return {account.ca().directoryUrl, FailureCode::CaRateLimited,
            "our order budget there (" + formatOrderBudget(*account.ca().orderBudget) +
                ") is spent; the next order in " +
                std::to_string(wholeSeconds(retryAfter).count()) + " s",
            wholeSeconds(retryAfter)};
}

}  // namespace

CaPlacement placeAtFirstAvailable(Database& database, const CaAccounts& cas,
                                  CaaLookups& caaLookups, const std::string& domainId,
                                  const std::string& domainName, PersistProbe& persist,
                                  bool preferPersist,
                                  const std::function<bool(AcmeAccount&)>& exemptFromBudget,
                                  const PlaceOrderAt& place,
                                  const std::function<void()>& beforeEachWait) {
    CaPlacement placement;
    std::optional<CaaCheck> undecided;  // the first CA left undecided by a method's lookup
    // The CAs still to try, in the operator's order but for one moved ahead (below).
    std::deque<AcmeAccount*> toTry;
    for (const auto& account : cas.inPreference()) toTry.push_back(account.get());
    // Checks made before a CA's turn (looking ahead), used at its turn: one check per CA.
    std::map<const AcmeAccount*, CaaCheck> checkedAhead;
    const auto checkAt = [&](AcmeAccount& account) {
        const auto ahead = checkedAhead.find(&account);
        if (ahead != checkedAhead.end()) return ahead->second;
        return precheckCaa(caaLookups, account, domainName, persist, beforeEachWait);
    };
    // Once per placement: a later CA whose check finds dns-persist-01 usable for every name,
    // the first in order, when the CA whose turn it is would need dns-01 (its position in
    // toTry). A CA that cannot be asked now (unreachable, refusing our account, any failure of
    // its check), or whose check the deadline cut short, is no candidate: the CA whose turn it
    // is passed its own check. One whose check threw is asked again at its turn. Looking ahead
    // ends with the CAA lookups' deadline: the CA whose turn it is is then taken as it is.
    bool lookAhead = preferPersist;
    // The CA moved ahead, if any: a guess, so any refusal of its passes over to the CA it was
    // moved ahead of, which would have taken the order before the look-ahead existed.
    const AcmeAccount* movedAhead = nullptr;
    const auto laterWithPersist = [&]() -> std::optional<std::size_t> {
        lookAhead = false;
        beforeEachWait();
        // No record at some name: no CA can use it, and no CA is asked (one may be down).
        if (!persist.publishedForEveryName(certificateNames(domainName), caaLookups.deadline()))
            return std::nullopt;
        const std::optional<DnsDeadline> deadline = caaLookups.deadline();
        for (std::size_t later = 0; later < toTry.size(); ++later) {
            if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
            AcmeAccount& account = *toTry[later];
            try {
                beforeEachWait();
                const CaaCheck& caa = checkedAhead.insert_or_assign(&account, checkAt(account))
                                          .first->second;
                if (persistUsableForEveryName(caa)) return later;
            } catch (const LeaseLost&) {
                throw;
            } catch (const std::exception& e) {
                // Its directory, its account (a key that does not open, a database error while
                // registering): asked again at its own turn, where such a failure counts.
                logEvent(LogLevel::Info, "CA not asked ahead of its turn",
                         {{"ca", account.ca().directoryUrl},
                          {"domain", domainName},
                          {"detail", errorDetail(e)}});
            }
        }
        return std::nullopt;
    };
    while (!toTry.empty()) {
        AcmeAccount& account = *toTry.front();
        toTry.pop_front();
        const std::string& ca = account.ca().directoryUrl;
        bool spent = false;
        // One token, at most once per CA; throws BudgetSpent when refused.
        const SpendBudgetToken spendToken = [&] {
            if (spent) return;
            if (const auto decision = spendBudget(database, account)) {
                if (!decision->granted) throw BudgetSpent{decision->retryAfter};
                spent = true;
            }
        };
        try {
            beforeEachWait();
            // RFC 8659 §3: no order a CA would have to refuse for CAA.
            CaaCheck caa = checkAt(account);
            placement.caa = caa;
            if (caa.result == CaaResult::LookupFailed) {
                // A CAA lookup failed: every CA would meet the same answer, so ask again later.
                // So when the deadline cut one short: no time is left for the next CA either.
                if (caaLookupItselfFailed(caa) || caa.deadlinePassed) {
                    placement.caaLookupFailed = true;
                    return placement;
                }
                // Only a method's own lookup failed (the _validation-persist record, the one
                // method this CA's CAA allows): another CA's CAA may allow dns-01.
                placement.passedOver.push_back({ca, caa.failureCode(), caa.description, {}});
                undecided = caa;
                continue;
            }
            if (!caa.passed()) {
                placement.passedOver.push_back({ca, FailureCode::CaaForbidden, caa.description, {}});
                continue;
            }
            // README "dns-persist-01": the customer published the record once, for the CAs it
            // names, and publishes nothing per order; an order at a CA where it is not usable
            // asks for a dns-01 value that never comes. A delegated domain needs nothing from
            // the customer at any CA: the operator's order stays.
            if (lookAhead && !toTry.empty() && !persistUsableForEveryName(caa)) {
                if (const auto later = laterWithPersist()) {
                    AcmeAccount* persistCa = toTry[*later];
                    logEvent(LogLevel::Info,
                             "a later CA tried first: the customer's dns-persist-01 record is "
                             "usable there, and here the order would need dns-01",
                             {{"ca", persistCa->ca().directoryUrl},
                              {"ahead_of", ca},
                              {"domain_id", domainId},
                              {"domain", domainName}});
                    toTry.erase(toTry.begin() + static_cast<std::ptrdiff_t>(*later));
                    // This CA next, its check kept: the operator's order after that one.
                    checkedAhead.insert_or_assign(&account, caa);
                    toTry.push_front(&account);
                    toTry.push_front(persistCa);
                    movedAhead = persistCa;
                    continue;
                }
            }
            if (!exemptFromBudget(account)) spendToken();
            placement.placed = place(account, caa, spendToken);
            placement.account = &account;
            return placement;
        } catch (const BudgetSpent& refused) {
            placement.passedOver.push_back(budgetSpentAt(account, refused.retryAfter));
        } catch (const acme::AcmeError& e) {
            beforeEachWait();  // the give-back below asks the CA again
            giveBackAbandonedOrder(database, account, domainId, domainName, e);
            if (spent && !caMayHoldTheOrder(e)) refundBudget(database, account);
            std::optional<PassOverReason> reason = passOverReason(e);
            if (!reason && &account == movedAhead) reason = PassOverReason::RefusedWhenMovedAhead;
            if (!reason) throw;
            placement.passedOver.push_back(
                {ca, failureCodeOf(e), e.problem().detail,
                 e.is(acme::ProblemType::kRateLimited) ? e.retryAfter() : std::nullopt});
            placement.lastError = std::current_exception();
            if (cas.inPreference().size() > 1)
                logEvent(LogLevel::Warn, "CA passed over",
                         {{"ca", ca},
                          {"domain", domainName},
                          {"error_code", std::string(toString(failureCodeOf(e)))},
                          // error_code stays the CA's (ca_refused for a refused account, as
                          // with one CA); the reason says why it was passed over.
                          {"reason", std::string(toString(*reason))},
                          {"problem_type", e.problem().type},
                          {"detail", e.problem().detail}});
        }
    }
    // No CA took it, and the only thing in the way was a failed lookup: the others' CAA forbids
    // them, so the answer is that lookup's (ask again), as with one CA.
    if (undecided && std::all_of(placement.passedOver.begin(), placement.passedOver.end(),
                                 [](const CaPassedOver& p) {
                                     return p.code == FailureCode::CaaForbidden ||
                                            p.code == FailureCode::DnsServfail ||
                                            p.code == FailureCode::DnsTimeout;
                                 })) {
        placement.caa = undecided;
        placement.caaLookupFailed = true;
    }
    return placement;
}

}  // namespace dnsh
