#pragma once
// SQL for domains and certificate metadata. Status changes are compare-and-set in SQL so that
// concurrent requests cannot both win.
#include <Poco/Data/Session.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/domain.hpp"

namespace dnsh {

// One authorization an order holds at its CA: its URL and the name it is for, as the order
// names it ("*.x" for a wildcard's); "" when stored before migration 027 (not known).
struct HeldAuthorization {
    std::string url;
    std::string identifier;
};

// Authorizations a domain's orders hold at one CA (RFC 8555 §7.5.2 deactivation).
struct AuthorizationsAtCa {
    std::string caDirectory;  // the CA's directory URL
    std::vector<HeldAuthorization> authorizations;
};

class DomainRepository {
public:
    explicit DomainRepository(Poco::Data::Session& session) : session_(session) {}

    // The domain view: the row, its newest certificate, the live order's challenges, the
    // renewal state and the last check.
    std::optional<Domain> findById(const std::string& id);
    // The same by the domain's name, as stored (normalised: domain_name.hpp).
    std::optional<Domain> findByName(const std::string& domainName);

    // GET /domains: up to `limit` domain views in one statement, newest first, strictly after
    // the (createdAt, id) cursor when given; `status` empty means all. createdAt travels as
    // microseconds since the epoch.
    struct PageCursor {
        std::string id;
        long long createdAtMicros = 0;
    };
    struct Listed {
        Domain domain;
        PageCursor cursor;  // this row's place, for the next page's cursor
    };
    std::vector<Listed> listPage(const std::string& status, int limit,
                                 const std::optional<PageCursor>& after);
    // The `limit` of the pages clients ask for unless they say otherwise: the default page of
    // 100 and one more row, which tells whether a next page follows. Its statements are
    // prepared once per connection; other sizes are planned with each execution.
    static constexpr int kUsualPageRows = 101;

    // DELETE /domains/{id}: the domain with its orders, challenges and certificates (cascade).
    bool remove(const std::string& id);

    // What to deactivate before a delete, by CA: the authorizations of the live order and of
    // the failed and replaced ones (a failure keeps the valid ones for the domain's next order),
    // the latter the newest per name and CA, newest first, at most kFailedOrderAuthorizations.
    std::vector<AuthorizationsAtCa> authorizationsToRelease(const std::string& domainId);
    // Each is one request to the CA while DELETE waits. A domain failing again and again is
    // held to the retry backoff, and the older failures' authorizations have mostly expired.
    static constexpr int kFailedOrderAuthorizations = 16;

    // Of `identifiers` (as an order names them, "*.x" for a wildcard), those the certificate of
    // a verified domain other than `domainId` covers: "x" is needed by "x" and "*.x".
    std::set<std::string> identifiersNeededElsewhere(const std::string& domainId,
                                                     const std::set<std::string>& identifiers);

    // not_seen, active (the CNAME points at our target) or lost (it did and no longer does).
    void setDelegationStatus(const std::string& id, const std::string& status);

    // POST /domains/{id}/check: the DNS poll the domain's order waits for becomes due now,
    // unless one was brought forward less than `pollIntervalMs` ago (TooSoon) or the order waits
    // out a backoff after an error (Backoff: the CA's Retry-After, a zone that did not answer),
    // which nothing brings forward. Due also when the order is due anyway. While a worker holds
    // the order, Due remembers the request so that its release makes the order due at once
    // (OrderStore::release); TooSoon if one was brought forward less than POLL_INTERVAL ago.
    struct DnsCheckRequest {
        enum class Outcome { Due, NothingWaiting, Backoff, TooSoon };
        Outcome outcome = Outcome::NothingWaiting;
        Poco::Int64 waitMs = 0;  // Backoff, TooSoon: until it may be asked again
    };
    DnsCheckRequest requestDnsCheck(const std::string& id, Poco::Int64 pollIntervalMs);

    // verify's DNS lookup for the domain (txtCheckJson), shown as "checks", only while it is
    // still pending, its checked_at the database's (domain/check_times.hpp): the check as
    // stored, for the answer; none (nothing written) once another call verified it, or it is
    // gone.
    std::optional<std::string> recordPendingCheck(const std::string& id,
                                                  const std::string& checkJson);

    // The leaf PEM of a certificate ("" when gone), for ARI's CertID. Never for the API.
    std::string certificatePem(const std::string& certificateId);

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
