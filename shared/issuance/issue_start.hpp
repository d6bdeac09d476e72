#pragma once
// POST /domains/{id}/issue-certificate (and dnsh-admin retry): the claim on the domain, the CA
// order, the move to certificate_pending.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "domain/domain.hpp"
#include "domain/validation_method.hpp"
#include "issuance/ca_accounts.hpp"
#include "issuance/issue_requester.hpp"

namespace dnsh {

struct StartedIssuance {
    std::string orderId;
    std::string challengeDomain;
    // dns-01 values to publish; empty: the CA holds valid authorizations, or every one is
    // validated by the customer's dns-persist-01 record
    std::vector<PendingChallenge> challenges;
    bool delegated = false;  // the service publishes the values itself
    ValidationMethod validationMethod = ValidationMethod::Dns01;
};

// Claims the domain in the database (at most one live CA order per domain), then places the
// order at the first CA that takes it, after its CAA precheck (issuance/ca_fallback.hpp). Errors: NotFound, Conflict (not
// verified or failed, an order is in progress or being placed), TooManyRequests (within the
// retry backoff after a failure), BadRequest caa_forbidden (CAA does not let the CA issue),
// FailedDependency (a CAA lookup failed; with Retry-After), BadGateway (CA unreachable, slower
// than ACME_HANDLER_TIMEOUT, the call's requests to the CAs past their budget together, or
// refusing; with a Retry-After when trying again may help). On
// every error the domain is unchanged. TooManyRequests for an Operator only within a CA's
// rate-limit wait (issue_requester.hpp). A domain verified with its token whose delegation CNAME
// is now in place is delegated from this order on (README "Zero-touch").
StartedIssuance startIssuance(Database& database, const Config& config,
                              const DnsResolver& resolver, const CaAccounts& cas,
                              const std::string& domainId, IssueRequester requester);

}  // namespace dnsh
