#pragma once
// issue-certificate's answers when it does not place an order: the domain's state or its claim
// (refused, refuseUnlessClaimed), and the CA's or CAA's failures (badGateway, noCaTookIt);
// issue_start.cpp is the call itself.
#include <chrono>
#include <optional>
#include <string>

#include "acme/problem.hpp"
#include "core/error.hpp"
#include "domain/status.hpp"
#include "issuance/ca_fallback.hpp"
#include "issuance/order_store.hpp"

namespace dnsh {

// issue-certificate on a failed domain is the retry: a fresh order. A domain with a live
// order (certificate_pending, or another call placing one) has one already.
Error refused(DomainStatus status);

// A claim not granted (claimIssue's outcome other than Claimed): throws the call's answer.
void refuseUnlessClaimed(const OrderStore::IssueClaim& claim);

// What an API client is told when the CA failed it. The domain is unchanged, so trying again
// is safe; Retry-After says when it may help. After the CA's rate limit, `blockedFor`: how long
// the domain's next call is held off (the retry backoff or the CA's Retry-After, whichever is
// longer, dropIssueClaim), so that a client obeying it is not refused 429 for asking too soon;
// a short pause (or the CA's own, bounded) for a CA that did not answer or answered 5xx.
Error badGateway(const acme::AcmeError& e,
                 std::optional<std::chrono::milliseconds> blockedFor);

// No CA took the order (issuance/ca_fallback.hpp). One CA: its own error, answered as it always
// was. Several: 400 caa_forbidden when CAA allows none of them; 429 ca_rate_limited with the
// soonest Retry-After when each was rate-limited; else 502 no_ca_available with Retry-After.
// A failed CAA lookup: 424 (caa_precheck.hpp). `shownCaa`: the last CA's check as stored (its
// checked_at the database's), the answer's "caa" where it has one.
Error noCaTookIt(const CaPlacement& placement, const std::string& domainId,
                 const std::string& shownCaa);

}  // namespace dnsh
