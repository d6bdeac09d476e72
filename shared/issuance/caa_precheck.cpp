#include "issuance/caa_precheck.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "domain/domain_name.hpp"
#include "issuance/challenge_method.hpp"

namespace dnsh {

CaaCheck precheckCaa(CaaLookups& lookups, AcmeAccount& account, const std::string& domainName,
                     PersistProbe& persist, const std::function<void()>& beforeLookup) {
    // Only this check's own lookups count: an earlier CA's cut lookup made its check fail, not
    // this one, which may need no further DNS (its search kept, no persist record to ask).
    lookups.resetCutShort();
    persist.resetCutShort();
    const CaaIssuer issuer = account.caaIssuer();
    const std::string persistMethod(toString(ChallengeMethod::DnsPersist01));
    const bool persistPossible = account.persistMayBeOffered();
    // Names whose record was not usable: why, should CAA allow them dns-persist-01 only.
    std::string persistNotUsable;
    // Asked only once the name's CAA lookup answered (checkCaaWith), so a CAA lookup that fails
    // or a CA without caaIdentities costs no persist lookup.
    const auto oursFor = [&](const std::string& name) {
        if (!persistPossible) return ourCaaMethods(std::nullopt);
        beforeLookup();
        PersistCheck check = persist.checkBeforeOrder(name, issuer.identities,
                                                      issuer.accountUri, lookups.deadline());
        if (!check.usable())
            persistNotUsable += "; " + persistMethod + " is not usable for " + name + " (" +
                                whyNotUsable(check) + ")";
        return ourCaaMethods(std::move(check));
    };
    CaaCheck check = checkCaaWith(certificateNames(domainName), issuer, oursFor,
                                  [&](const DnsName& start) {
                                      return lookups.relevantSet(start, beforeLookup);
                                  });
    // Out of time: no answer, whatever was found before (a persist lookup cut short would
    // otherwise pass as "not usable" and the order go out with dns-01). Records that forbid
    // are an answer still.
    if (check.result != CaaResult::Forbidden &&
        (lookups.walkCutShort() || persist.lookupCutShort())) {
        const auto budget = std::chrono::duration_cast<std::chrono::seconds>(
            lookups.budget().value_or(std::chrono::milliseconds(0)));
        check.result = CaaResult::LookupFailed;
        check.deadlinePassed = true;
        check.description = "the DNS lookups of the CAA check (one per label up to the "
                            "top-level domain, RFC 8659 section 3, and the _validation-persist "
                            "records) did not end within " +
                            std::to_string(budget.count()) +
                            " s: CAA is checked again before the order";
        return check;
    }
    // A customer who limited CAA to dns-persist-01 is told what is wrong with that record too,
    // not only how to allow dns-01.
    if (check.result == CaaResult::Forbidden && !persistNotUsable.empty())
        for (const auto& name : check.names)
            if (name.decision.recordWithOurMethod) {
                check.description += persistNotUsable;
                break;
            }
    return check;
}

CaaOurMethods ourCaaMethods(const std::optional<PersistCheck>& persist) {
    const std::string persistMethod(toString(ChallengeMethod::DnsPersist01));
    CaaOurMethods ours;
    if (persist && persist->usable()) ours.known.push_back(persistMethod);
    // Nothing is known of the record (README "CAA": neither permission nor refusal).
    if (persist && persist->lookupFailure)
        ours.unknown =
            CaaMethodUnknown{persistMethod, *persist->lookupFailure,
                             persist->recordName + ": " + persist->lookupDetail};
    ours.known.emplace_back(toString(ChallengeMethod::Dns01));
    return ours;
}

bool persistUsableForEveryName(const CaaCheck& check) {
    const std::string persistMethod(toString(ChallengeMethod::DnsPersist01));
    return check.result == CaaResult::Allowed && !check.names.empty() &&
           std::all_of(check.names.begin(), check.names.end(), [&](const CaaNameCheck& name) {
               const auto& allowed = name.decision.allowedMethods;
               return !name.failed() &&
                      std::find(allowed.begin(), allowed.end(), persistMethod) != allowed.end();
           });
}

Error caaRefusal(const CaaCheck& check, const std::string& shownJson) {
    const std::string code(toString(check.failureCode()));
    if (check.result == CaaResult::Forbidden)
        // RFC 9110 §15.5.1: the request cannot succeed until the customer's DNS changes.
        return Error(ErrorCode::BadRequest, check.description, code).detail("caa", shownJson);
    Error error(ErrorCode::FailedDependency, check.description, code);
    error.retryAfter(kCaaLookupRetryAfter).detail("caa", shownJson);
    return error;
}

}  // namespace dnsh
