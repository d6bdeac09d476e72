#include "issuance/caa_precheck.hpp"

#include "domain/domain_name.hpp"

namespace dnsh {

CaaCheck precheckCaa(const DnsResolver& resolver, AcmeAccount& account,
                     const std::string& domainName, const std::function<void()>& beforeLookup) {
    return checkCaa(resolver, certificateNames(domainName), account.caaIssuer(), beforeLookup);
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
