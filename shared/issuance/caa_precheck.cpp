#include "issuance/caa_precheck.hpp"

#include "domain/domain_name.hpp"
#include "issuance/challenge_method.hpp"

namespace dnsh {

CaaCheck precheckCaa(const DnsResolver& resolver, AcmeAccount& account,
                     const std::string& domainName, PersistProbe& persist,
                     const std::function<void()>& beforeLookup) {
    const CaaIssuer issuer = account.caaIssuer();
    const std::string persistMethod(toString(ChallengeMethod::DnsPersist01));
    const bool persistPossible = account.persistMayBeOffered();
    // Names whose record was not usable: why, should CAA allow them dns-persist-01 only.
    std::string persistNotUsable;
    // Asked only once the name's CAA lookup answered (checkCaa), so a CAA lookup that fails or
    // a CA without caaIdentities costs no persist lookup.
    const auto oursFor = [&](const std::string& name) {
        if (!persistPossible) return ourCaaMethods(std::nullopt);
        beforeLookup();
        PersistCheck check = persist.checkBeforeOrder(name, issuer.identities, issuer.accountUri);
        if (!check.usable())
            persistNotUsable += "; " + persistMethod + " is not usable for " + name + " (" +
                                whyNotUsable(check) + ")";
        return ourCaaMethods(std::move(check));
    };
    CaaCheck check =
        checkCaa(resolver, certificateNames(domainName), issuer, oursFor, beforeLookup);
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

Error caaRefusal(const CaaCheck& check) {
    const std::string code(toString(check.failureCode()));
    if (check.result == CaaResult::Forbidden)
        // RFC 9110 §15.5.1: the request cannot succeed until the customer's DNS changes.
        return Error(ErrorCode::BadRequest, check.description, code)
            .detail("caa", caaCheckJson(check));
    Error error(ErrorCode::FailedDependency, check.description, code);
    error.retryAfter(kCaaLookupRetryAfter).detail("caa", caaCheckJson(check));
    return error;
}

}  // namespace dnsh
