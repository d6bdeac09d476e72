#include "issuance/issue_failures.hpp"

#include <optional>
#include <string>

#include "issuance/acme_account.hpp"
#include "issuance/backoff.hpp"
#include "issuance/caa_precheck.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

}  // namespace

Error refused(DomainStatus status) {
    if (status == DomainStatus::CertificatePending)
        return Error(ErrorCode::Conflict,
                     "a certificate order for this domain is already in progress");
    // RFC 9110 §15.5.10: well formed, but the domain's state does not allow it (409).
    return Error(ErrorCode::Conflict,
                 "domain must be verified first, current status: " + std::string(toString(status)));
}

void refuseUnlessClaimed(const OrderStore::IssueClaim& claim) {
    using Claim = OrderStore::IssueClaim::Outcome;
    switch (claim.outcome) {
        case Claim::Claimed:
            break;
        case Claim::InProgress:
            throw refused(DomainStatus::CertificatePending);
        case Claim::TooSoon: {
            const std::string retryIn =
                "retry in " + std::to_string((claim.waitMs + 999) / 1000) + " s";
            // The wait after the CA's rate limit (issue_start.cpp), or the backoff after failures.
            throw Error::tooSoon(
                claim.rateLimited
                    ? "the CA refused this domain's last certificate order: it is "
                      "rate-limiting the account; " + retryIn + " (the CA's Retry-After or "
                      "ISSUE_RETRY_BACKOFF, whichever is longer)"
                    : "certificate issuance for this domain failed " +
                          std::to_string(claim.failures) + " time(s) in a row; " + retryIn +
                          " (the wait doubles with each failure)",
                milliseconds(claim.waitMs));
        }
        case Claim::Moved:
            if (claim.status.empty()) throw Error(ErrorCode::NotFound, "domain not found");
            throw refused(parseDomainStatus(claim.status).value_or(DomainStatus::Pending));
}
}

Error badGateway(const acme::AcmeError& e, std::optional<milliseconds> blockedFor) {
    Error error(ErrorCode::BadGateway,
                e.unreachable() ? std::string("ACME CA unreachable: ") + e.problem().detail
                                : std::string("ACME CA refused: ") + e.problem().detail,
                std::string(toString(failureCodeOf(e))));
    if (blockedFor)
        error.retryAfter(std::chrono::ceil<std::chrono::seconds>(*blockedFor));
    else if (e.retryable())
        error.retryAfter(clampRetryAfter(e.retryAfter().value_or(kCaUnreachableRetryAfter),
                                         RetryAfterKind::Poll));
    return error;
}

Error noCaTookIt(const CaPlacement& placement, const std::string& domainId,
                 const std::string& shownCaa) {
    if (placement.caaLookupFailed) return caaRefusal(*placement.caa, shownCaa);
    if (placement.forbiddenByCaa()) {
        logEvent(LogLevel::Warn, "certificate order not placed: CAA",
                 {{"domain_id", domainId},
                  {"error_code", std::string(toString(FailureCode::CaaForbidden))},
                  {"detail", placement.describe()}});
        if (placement.caa->result == CaaResult::Forbidden)
            return caaRefusal(*placement.caa, shownCaa);
        // The last CA's check passed and its authorization offered none of the methods CAA
        // allows (acme_account.hpp's CaaMethodRefusal): 400 as for a refusing check (RFC 9110
        // §15.5.1, the customer's DNS must change), the check that passed as "caa".
        Error error(ErrorCode::BadRequest,
                    placement.passedOver.size() == 1 ? placement.passedOver.front().detail
                                                     : placement.describe(),
                    std::string(toString(FailureCode::CaaForbidden)));
        error.detail("caa", shownCaa);
        return error;
    }
    if (placement.passedOver.size() == 1 && placement.lastError)
        std::rethrow_exception(placement.lastError);
    logEvent(LogLevel::Warn, "certificate order not placed: no CA took it",
             {{"domain_id", domainId}, {"detail", placement.describe()}});
    if (placement.rateLimited())
    {
        Error error(ErrorCode::TooManyRequests,
                    "every CA is rate-limiting orders now: " + placement.describe(),
                    std::string(toString(FailureCode::CaRateLimited)));
        error.retryAfter(clampRetryAfter(placement.retryAfter(kCaUnreachableRetryAfter),
                                         RetryAfterKind::RateLimit));
        return error;
    }
    Error error(ErrorCode::BadGateway, "no CA could take the order: " + placement.describe(),
                std::string(toString(FailureCode::NoCaAvailable)));
    error.retryAfter(clampRetryAfter(placement.retryAfter(kCaUnreachableRetryAfter),
                                     RetryAfterKind::Poll));
    return error;
}

}  // namespace dnsh
