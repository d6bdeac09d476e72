#pragma once
// The domain use cases the handlers call: look up, verify, list, certificate metadata
// (registering: domain/registration.hpp). Expected failures are Error(code) with a message for
// the client.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/failure_code.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "domain/domain.hpp"

namespace dnsh {

Domain findDomain(Database& database, std::string_view id);
// findDomain's statement run once for an id no domain has: the session connected, the statement
// prepared and the server's caches for it loaded (http/serve.hpp, WarmUp).
void prepareFindDomain(Database& database);

// Looks for the verification token at _acme-challenge.<domain> and moves pending -> verified.
// With a `delegationZone`, a CNAME there pointing at the domain's own delegation target proves
// control too (a name holding a CNAME holds nothing else, RFC 1034 §3.6.2).
Domain verifyDomain(Database& database, const DnsResolver& resolver,
                    const std::string& delegationZone, std::string_view id);

// What verify answers a failed check with: the customer's record wrong (TXT records without the
// token, txt_mismatch; a CNAME into the delegation zone with another label, cname_mismatch) is
// BadRequest (400); no record, or a lookup that failed, is the DNS the request depends on,
// FailedDependency (424). deploy/api/openapi.json documents each code under that status.
ErrorCode verifyFailureStatus(FailureCode failure);

// POST /domains/{id}/check: the pending DNS lookup (issuance or renewal) runs now instead of at
// its next poll, at most once per `pollInterval`. BadRequest when nothing waits for DNS;
// TooManyRequests (with Retry-After) when one was brought forward less than `pollInterval` ago,
// or when the order waits out a backoff after an error, which a check never shortens.
Domain checkDomainNow(Database& database, std::chrono::milliseconds pollInterval,
                      std::string_view id);

// GET /domains?status=&limit=&cursor=: newest first, keyset pagination with an opaque cursor.
struct DomainPage {
    std::vector<Domain> items;
    std::optional<std::string> nextCursor;  // none on the last page
};
// BadRequest for an unknown status, a limit outside 1..500, or a cursor this service did not make.
DomainPage listDomains(Database& database, const std::map<std::string, std::string>& query);

CertificateInfo findNewestCertificate(Database& database, std::string_view domainId);

}  // namespace dnsh
