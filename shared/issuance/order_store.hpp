#pragma once
// SQL for ACME accounts, orders, challenges and certificates. The order is the scheduler's unit
// of work: claimed with FOR UPDATE SKIP LOCKED and a lease, and every write a step makes is
// guarded by the lease owner (a late writer gets LeaseLost and changes nothing). Domain status
// moves go through transitionDomain(). Written in order_store.cpp (the queue, a step's writes),
// order_store_issue.cpp (the account, issue-certificate's claim) and order_store_scans.cpp
// (the renewal and renewalInfo scans).
#include <Poco/Data/Session.h>
#include <Poco/Types.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/failure_code.hpp"
#include "domain/status.hpp"
#include "domain/validation_method.hpp"
#include "issuance/challenge_method.hpp"
#include "issuance/issue_requester.hpp"
#include "issuance/order_step.hpp"

namespace dnsh {

// The statuses of a live order (not finished), as an SQL list: "status IN " + this.
inline constexpr const char* kLiveOrderStatusesSql = "('pending', 'ready', 'processing')";

// The order is no longer ours: another replica took it over after our lease ran out.
class LeaseLost : public std::runtime_error {
public:
    explicit LeaseLost(const std::string& orderId)
        : std::runtime_error("lease on order " + orderId + " lost") {}
};

struct StoredAccount {
    Poco::Int64 id = 0;
    std::optional<std::string> accountUrl;
    std::string keyCiphertext;
};

// The challenge an order answers for one authorization: dns-01 (RFC 8555 §8.4), whose TXT value
// must be published, or dns-persist-01 (draft-ietf-acme-dns-persist-00 §3.1), answered as it
// is: the customer's record at txtName (_validation-persist.<name>) is already there, txtValue
// is empty and nothing is ever published for it.
struct OrderChallenge {
    std::string authorizationUrl;
    std::string challengeUrl;
    std::string token;
    std::string txtName;
    std::string txtValue;
    std::string publishedAt;  // delegated orders: where we added the value ("" when not there)
    ChallengeMethod method = ChallengeMethod::Dns01;
    // The name the authorization is for, as the order names it ("*.x" for a wildcard's, RFC
    // 8555 §7.1.4); "" when stored before migration 027. Decides whether the authorization is
    // given back when the order ends (issuance/authorization_release.hpp).
    std::string identifier;
    bool needsPublishing() const { return method == ChallengeMethod::Dns01; }
};

// What newOrder and the authorizations gave us. Authorizations the CA already holds as valid
// have no challenge here (nothing to publish).
struct PlacedOrder {
    Poco::Int64 accountId = 0;
    std::string caDirectory;  // the directory URL of the CA that took it
    std::string orderUrl;
    std::string finalizeUrl;
    // The CA's expiry of the order (acme::Order::expires), ms since the epoch; none without one
    std::optional<Poco::Int64> expiresEpochMs;
    std::string profile;  // what newOrder named (draft-ietf-acme-profiles); "" for none
    std::vector<OrderChallenge> challenges;
    bool delegated = false;  // the service publishes the values (README "Zero-touch")
    // The last dns-persist-01 record check made while placing it (the view's checks.persist,
    // persistCheckJson); none when no authorization offered dns-persist-01.
    std::optional<std::string> persistCheck;
    OrderStep step() const {
        return challenges.empty() ? OrderStep::Finalize : OrderStep::AwaitDns;
    }
    // dns-persist-01 when every challenge is (nothing to publish at all); else cname when the
    // service publishes the values, else dns-01.
    ValidationMethod validationMethod() const {
        bool allPersist = !challenges.empty();
        for (const auto& challenge : challenges)
            if (challenge.needsPublishing()) allPersist = false;
        if (allPersist) return ValidationMethod::DnsPersist01;
        return delegated ? ValidationMethod::Cname : ValidationMethod::Dns01;
    }
};

struct StoredOrder {
    std::string id;
    std::string domainId;
    std::string domainName;
    OrderKind kind = OrderKind::Issue;
    OrderStep step = OrderStep::AwaitDns;
    std::string orderUrl;     // empty while PlaceOrder
    std::string finalizeUrl;  // empty while PlaceOrder
    std::optional<std::string> certKeyCiphertext;
    std::optional<std::string> replacesCertificateId;  // renewals
    int attempts = 0;
    int generation = 1;
    int renewalFailures = 0;    // of the certificate a renewal replaces
    Poco::Int64 stepAgeMs = 0;  // since the order entered its step (database clock)
    // Its last turn ended as a DNS poll (the values not visible yet), not in a backoff after an
    // error: await_dns then knows the customer, not the CA, took the time since.
    bool dnsPoll = false;
    // await_dns already restarted this step's clock for the CA's part (at most once per step).
    bool stepClockRestarted = false;
    bool expired = false;       // past the expiry the CA gave it (database clock)
    bool hasExpiry = false;     // the CA gave it one (RFC 8555 §7.1.3; some CAs may not)
    bool delegated = false;
    std::string delegationStatus;   // the domain's: not_seen, active, lost
    std::string verificationToken;  // the domain's secret, for its delegation target; never logged
    std::optional<std::string> domainProfile;  // chosen at POST /domains; none: ACME_PROFILE
    std::vector<OrderChallenge> challenges;
    // The directory URL of the CA the order was placed with ("" before it is placed), and of the
    // CA that issued the certificate a renewal replaces (RFC 9773 §5: only that CA knows it).
    std::string caDirectory;
    std::string replacesCaDirectory;
};

// A certificate to store, with when to renew it. Its private key is not here: storeCertificate
// copies the order's sealed key as the order row holds it at its commit (rotate-kek may have
// re-sealed it since the turn read it).
struct NewCertificate {
    std::string id;
    std::string leafPem;
    std::string chainPem;
    std::string notBefore;  // RFC 3339
    std::string notAfter;
    Poco::Int64 renewBeforeMs = 0;  // renew_at = notAfter - this, at the latest overdue_at
    // RFC 9773: when the CA has renewalInfo, when to ask it again (ms from now).
    std::optional<Poco::Int64> ariNextFetchMs;
};

// A certificate whose ACME Renewal Information is due to be fetched again.
struct AriDue {
    std::string certificateId;
    std::string leafPem;
    std::string caDirectory;  // the issuing CA's directory URL: only it knows the CertID
};

// A domain's current certificate (the newest, not superseded), for dnsh-admin ari-refresh.
struct CurrentCertificate {
    std::string domainId;
    std::string domainName;
    std::string domainStatus;
    AriDue certificate;
};

// A certificate's renew_at as OrderStore::recordAri stored it.
struct AriRecorded {
    Poco::Int64 renewAtEpochMs = 0;
    // renew_at <= now() by PostgreSQL's clock, the one the renewal scan reads
    // (scheduleRenewals): not the clock of the host that asked the CA.
    bool due = false;
};

class OrderStore {
public:
    explicit OrderStore(Poco::Data::Session& session) : session_(session) {}

    std::optional<StoredAccount> findAccount(const std::string& directoryUrl);
    // Inserts unless another process got there first; then returns whichever row exists.
    StoredAccount insertAccount(const std::string& directoryUrl, const std::string& keyCiphertext,
                                const std::string& keyId, const std::string& contact);
    void setAccountUrl(Poco::Int64 accountId, const std::string& accountUrl);
    // What POST /domains and the view tell a customer to publish for dns-persist-01 at this CA
    // (domain/persist_offers.hpp): its issuer domain and, once an authorization showed it,
    // whether it offers the method (none: not seen yet).
    void setPersistIssuer(Poco::Int64 accountId, const std::string& issuerDomain,
                          std::optional<bool> offered);
    // At a scheduler's start: the directory's issuer (its first meta.caaIdentities entry) stands
    // in only until an authorization that offered the method named the challenge's (stored with
    // persist_offered true), which is kept. The issuer stored afterwards; nullopt with no row.
    std::optional<std::string> setDirectoryPersistIssuer(Poco::Int64 accountId,
                                                         const std::string& issuerDomain);

    // --- issue-certificate: at most one live CA order per domain, so the claim comes first.
    struct IssueClaim {
        enum class Outcome {
            Claimed,     // the claim is ours: call the CA
            InProgress,  // another live order (or claim) holds the domain
            TooSoon,     // the domain's retry backoff has not passed (waitMs)
            Moved,       // the domain is not in `from` any more (status; "" when gone)
        };
        Outcome outcome = Outcome::Moved;
        Poco::Int64 waitMs = 0;
        int failures = 0;  // issuances of the domain that failed in a row
        // TooSoon for a CA's rate-limit wait (dropIssueClaim's retryInMs), not the backoff.
        bool rateLimited = false;
        std::string status;
    };
    // In one transaction, the domain row locked: unless it moved, is within a retry wait that
    // holds for `requester` or has a live order, a claim: an issue order in place_order leased
    // to `owner` for `leaseMs`, which no scheduler takes (its next attempt is 'infinity'). A
    // claim whose lease ran out (its process died) is abandoned first. The unique index on
    // live orders backs it.
    IssueClaim claimIssue(const std::string& orderId, const std::string& domainId,
                          DomainStatus from, const std::string& owner, Poco::Int64 leaseMs,
                          IssueRequester requester);
    // The CA's order for the claim: in one transaction the domain `from` -> certificate_pending
    // and the claim becomes the order with its challenges, due now and leased to nobody; with
    // `delegationFound` (the call found the delegation CNAME of a domain verified with its token)
    // the domain's delegation becomes active with them, and `caaCheckJson` (the check of the CA
    // that took it, its checked_at the database's) is the domain's caa_check. False (nothing
    // written) when the domain moved or the claim is no longer `owner`'s.
    bool completeIssueClaim(const std::string& orderId, const std::string& owner,
                            const std::string& domainId, DomainStatus from,
                            const PlacedOrder& placed, bool delegationFound,
                            const std::optional<std::string>& caaCheckJson);
    // The claim removed (the CA call failed, or the order is of no use): the domain as it was,
    // except that with `retryInMs` its next issue-certificate waits that long (a CA rate limit).
    // False when the claim was no longer there as `owner`'s (completed, or abandoned).
    bool dropIssueClaim(const std::string& orderId, const std::string& owner,
                        const std::string& domainId, std::optional<Poco::Int64> retryInMs);

    // Renewal scan: for up to `limit` certificates whose renew_at has come (an index range
    // scan), a renewal order in step place_order, delegated when its domain's CNAME was seen
    // (domains.delegation_status active or lost); the certificate's renew_at is cleared in the
    // same statement so no replica starts it twice. Returns how many were created.
    int scheduleRenewals(int limit);

    // RFC 9773 re-fetches: up to `limit` certificates whose ari_next_fetch_at has come, issued
    // by one of the CAs of `directoryUrls` (the replica's ACME_CAS: only the issuing CA knows a
    // certificate, and another replica may have that CA), each held for `holdMs` (SKIP LOCKED)
    // so replicas do not fetch the same one.
    std::vector<AriDue> claimAriFetches(int limit, Poco::Int64 holdMs,
                                        const std::set<std::string>& directoryUrls);
    // The CA's suggestion: renew_at moves to `renewAtEpochMs`, at the latest overdue_at (unless
    // a renewal already runs; after a failed renewal no earlier than its retry) and the next
    // fetch is `nextFetchMs` from now. Returns renew_at as stored now, and whether it has come:
    // none while a renewal runs or once the certificate is superseded (or gone with its
    // domain). Locks the domain's row first, in one transaction with the write
    // (order_sql::lockDomain's lock order).
    std::optional<AriRecorded> recordAri(const std::string& certificateId,
                                         std::optional<Poco::Int64> renewAtEpochMs,
                                         Poco::Int64 nextFetchMs);
    // The domain's current certificate (none: no such domain, or no certificate yet).
    std::optional<CurrentCertificate> currentCertificate(const std::string& domainId);
    // The current certificates of active domains whose id follows `afterDomainId` that the CA
    // of `directoryUrl` issued, by domain id, at most `limit`: pages for ari-refresh --all.
    std::vector<CurrentCertificate> currentCertificates(const std::string& directoryUrl,
                                                        const std::string& afterDomainId,
                                                        int limit);

    // --- The scheduler's queue. Writes below throw LeaseLost unless `owner` holds the lease.
    // Claims one due live order for `owner` until the lease runs out.
    std::optional<std::string> claimDue(const std::string& owner, Poco::Int64 leaseMs);
    StoredOrder load(const std::string& orderId, const std::string& owner);
    void extendLease(const std::string& orderId, const std::string& owner, Poco::Int64 leaseMs);
    // Gives the order back with its next attempt `delayMs` from now: a DNS poll (`dnsPoll`,
    // which POST .../check may bring forward) or a backoff after an error.
    void release(const std::string& orderId, const std::string& owner, Poco::Int64 delayMs,
                 bool dnsPoll = false);

    // place_order done: the CA's order and its challenges; the step is placed.step().
    void recordPlaced(const std::string& orderId, const std::string& owner,
                      const PlacedOrder& placed);
    // Moves the order to `step` (or keeps it there) with the step's clock started now; a step
    // other than the order's clears step_clock_restarted.
    void setStep(const std::string& orderId, const std::string& owner, OrderStep step);
    // The current step's clock started now, and marked so (StoredOrder::stepClockRestarted).
    void restartStepClock(const std::string& orderId, const std::string& owner);
    // Delegated orders: the value of `authorizationUrl`'s challenge is now at `name`.
    void markPublished(const std::string& orderId, const std::string& owner,
                       const std::string& authorizationUrl, const std::string& name);
    // The domain's last TXT check (domains.last_check: txtCheckJson) and delegation status, as
    // a step saw them. Only while the order is live and `owner`'s, like every write here (the
    // check that led to a failure goes with fail()). The check's checked_at is the database's
    // now(), its next_check_at `nextCheckInMs` after it (domain/check_times.hpp).
    void recordCheck(const std::string& orderId, const std::string& owner,
                     const std::string& checkJson,
                     std::optional<Poco::Int64> nextCheckInMs = std::nullopt);
    void setDelegationStatus(const std::string& orderId, const std::string& owner,
                             const std::string& status);
    // The CAA check made before placing the order (domains.caa_check: caaCheckJson); as
    // recordCheck. The handler's claim is an order too: its check is recorded through it.
    // Returns the check as stored, with its checked_at, for an answer to show.
    std::string recordCaaCheck(const std::string& orderId, const std::string& owner,
                               const std::string& checkJson);
    // Counts one more error against the order; returns the count.
    int recordAttempt(const std::string& orderId, const std::string& owner);
    // Persists the certificate key once; returns the stored one (ours or an earlier run's).
    std::string saveCertKey(const std::string& orderId, const std::string& owner,
                            const std::string& ciphertext, const std::string& keyId);

    // In one transaction: the certificate (newest of the domain; older ones stop renewing), the
    // order valid, and for an issue order the domain certificate_pending -> active. The
    // certificate's key and KEK id are the order row's (cert_key_ciphertext, cert_key_id), read
    // under the lock this transaction takes on it, not StoredOrder's copy: a rotate-kek batch
    // committed after the turn loaded the order has re-sealed the row only. Error(Internal)
    // when the row holds no key (none was saved before finalize: a bug).
    void storeCertificate(const StoredOrder& order, const std::string& owner,
                          const NewCertificate& certificate);

    // The order invalid with its reason; an issue order's domain certificate_pending -> failed,
    // its next issue-certificate not before `issueRetryBaseMs` doubled per failure in a row
    // (at most kMaxIssueRetryBackoff); a renewal's certificate renews again `renewalRetryMs` from
    // now (unless it has expired by then: then it is left alone, expired). `lastCheckJson`: the
    // check that led to the failure, recorded as recordCheck would (the domain's last_check; no
    // next_check_at: nothing looks again).
    void fail(const StoredOrder& order, const std::string& owner, const std::string& reason,
              FailureCode code, Poco::Int64 renewalRetryMs, Poco::Int64 issueRetryBaseMs,
              const std::optional<std::string>& lastCheckJson = std::nullopt);

    // The order abandoned (the CA forgot it, or it expired): a fresh order of the same kind in
    // step place_order, one generation later. Returns the new order's id.
    std::string replace(const StoredOrder& order, const std::string& owner);

    // After the order finished (valid, failed or replaced: its lease is given back, so this
    // write is guarded by that instead): the value of `authorizationUrl`'s challenge has been
    // removed again. Nothing for a live order.
    void markUnpublished(const std::string& orderId, const std::string& authorizationUrl);

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
