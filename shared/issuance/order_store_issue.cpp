#include "issuance/order_store.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/check_times.hpp"
#include "domain/domain_repository.hpp"
#include "domain/domain_transition.hpp"
#include "domain/outbox.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_store_sql.hpp"

namespace dnsh {

using namespace order_sql;

std::optional<StoredAccount> OrderStore::findAccount(const std::string& directoryUrl) {
    const SqlRows rows =
        runSql(session_,
               "SELECT id, account_url, key_ciphertext FROM acme_accounts WHERE directory_url = $1",
               {directoryUrl});
    if (rows.empty()) return std::nullopt;
    return StoredAccount{rows.integer(0, "id"), rows.optionalText(0, "account_url"),
                         rows.text(0, "key_ciphertext")};
}

StoredAccount OrderStore::insertAccount(const std::string& directoryUrl,
                                        const std::string& keyCiphertext, const std::string& keyId,
                                        const std::string& contact) {
    runSql(session_,
           "INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id, contact) "
           "VALUES ($1, $2, $3, $4) ON CONFLICT (directory_url) DO NOTHING",
           {directoryUrl, keyCiphertext, keyId, contact});
    return *findAccount(directoryUrl);
}

void OrderStore::setAccountUrl(Poco::Int64 accountId, const std::string& accountUrl) {
    runSql(session_, "UPDATE acme_accounts SET account_url = $2, updated_at = now() WHERE id = $1",
           {accountId, accountUrl});
}

void OrderStore::setPersistIssuer(Poco::Int64 accountId, const std::string& issuerDomain,
                                  std::optional<bool> offered) {
    // An offer not seen yet keeps what an earlier authorization showed.
    runSql(session_,
           "UPDATE acme_accounts SET persist_issuer = $2, "
           "persist_offered = coalesce($3::boolean, persist_offered), updated_at = now() "
           "WHERE id = $1",
           {accountId, issuerDomain, offered});
}

std::optional<std::string> OrderStore::setDirectoryPersistIssuer(Poco::Int64 accountId,
                                                                 const std::string& issuerDomain) {
    // One statement: a challenge's issuer stored meanwhile by another process is not lost.
    // draft-ietf-acme-dns-persist-00 §4 item 2: the record must name one of the challenge's
    // issuer-domain-names, which may differ from the CA's caaIdentities.
    const SqlRows rows =
        runSql(session_,
               "UPDATE acme_accounts SET persist_issuer = CASE WHEN persist_offered IS TRUE AND "
               "persist_issuer IS NOT NULL THEN persist_issuer ELSE $2 END, updated_at = now() "
               "WHERE id = $1 RETURNING persist_issuer",
               {accountId, issuerDomain});
    if (rows.empty()) return std::nullopt;
    return rows.optionalText(0, "persist_issuer");
}

OrderStore::IssueClaim OrderStore::claimIssue(const std::string& orderId,
                                              const std::string& domainId, DomainStatus from,
                                              const std::string& owner, Poco::Int64 leaseMs,
                                              IssueRequester requester) {
    IssueClaim claim;
    inTransaction(session_, [&] {
        // The domain row first, as every writer of a domain and its orders locks them.
        const SqlRows domain = runSql(
            session_,
            "SELECT status, issue_failures, coalesce(ceil(extract(epoch FROM issue_retry_at - "
            "now()) * 1000), 0)::bigint AS wait_ms, coalesce(ceil(extract(epoch FROM "
            "issue_rate_limited_until - now()) * 1000), 0)::bigint AS rate_limit_ms "
            "FROM domains WHERE id = $1 FOR UPDATE",
            {domainId});
        if (domain.empty()) return false;
        claim.status = domain.text(0, "status");
        claim.failures = static_cast<int>(domain.integer(0, "issue_failures"));
        if (claim.status != toString(from)) return false;
        // A client waits for issue_retry_at: the backoff after failures or a CA's rate-limit
        // wait, whichever is longer. An operator skips the backoff, never the CA's wait
        // (issue_rate_limited_until; with no failure in a row issue_retry_at can only be one,
        // set before that column was).
        const Poco::Int64 waitMs = domain.integer(0, "wait_ms");
        const Poco::Int64 rateLimitMs = domain.integer(0, "rate_limit_ms");
        const Poco::Int64 holds = requester == IssueRequester::Client ? waitMs
                                  : claim.failures == 0 ? std::max(waitMs, rateLimitMs)
                                                        : rateLimitMs;
        if (holds > 0) {
            claim.outcome = IssueClaim::Outcome::TooSoon;
            claim.waitMs = holds;
            claim.rateLimited = claim.failures == 0 || (rateLimitMs > 0 && rateLimitMs >= holds);
            return false;
        }
        // A claim whose process died before it finished: its CA order, if any, is unknown to us.
        runSql(session_,
               "UPDATE acme_orders SET status = 'invalid', error = 'abandoned: the "
               "issue-certificate call that claimed it did not finish', error_code = 'internal', "
               "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, "
               "updated_at = now() WHERE domain_id = $1 AND kind = 'issue' AND step = "
               "'place_order' AND next_attempt_at = 'infinity' AND lease_expires_at < now() "
               "AND status IN " +
                   std::string(kLive),
               {domainId});
        const SqlRows inserted = runSql(
            session_,
            "INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at, lease_owner, "
            "lease_expires_at) VALUES ($1, $2, 'issue', 'place_order', 'infinity', $3, "
            "now() + $4::bigint * interval '1 ms') ON CONFLICT (domain_id) WHERE status IN " +
                std::string(kLive) + " DO NOTHING RETURNING id",
            {orderId, domainId, owner, leaseMs});
        claim.outcome =
            inserted.empty() ? IssueClaim::Outcome::InProgress : IssueClaim::Outcome::Claimed;
        return !inserted.empty();
    });
    return claim;
}

bool OrderStore::completeIssueClaim(const std::string& orderId, const std::string& owner,
                                    const std::string& domainId, DomainStatus from,
                                    const PlacedOrder& placed, bool delegationFound,
                                    const std::optional<std::string>& caaCheckJson) {
    return inTransaction(session_, [&] {
        // The domain first (the lock order of claimIssue), then the claim: still ours?
        if (!transitionDomain(session_, domainId,
                              {from, DomainStatus::CertificatePending, "", std::nullopt}))
            return false;
        const std::string step(toString(placed.step()));
        const SqlRows claimed = runSql(
            session_,
            "UPDATE acme_orders SET account_id = $3, order_url = $4, finalize_url = $5, "
            "expires_at = to_timestamp($6::bigint / 1000.0), step = $7, step_started_at = now(), "
            "delegated = $8, profile = nullif($9, ''), lease_owner = NULL, "
            "lease_expires_at = NULL, next_attempt_at = now(), updated_at = now() "
            "WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > now() AND status IN " +
                std::string(kLive),
            {orderId, owner, placed.accountId, placed.orderUrl, placed.finalizeUrl,
             placed.expiresEpochMs, step, placed.delegated, placed.profile});
        if (claimed.affected() == 0) return false;
        insertChallenges(session_, orderId, placed.challenges);
        recordValidation(session_, orderId, placed);
        // As verify records a CNAME it finds (domain_service.cpp).
        if (delegationFound) DomainRepository(session_).setDelegationStatus(domainId, "active");
        // Here, under the claim just completed: a write of its own after the CA answered found
        // the claim gone when a DELETE committed meanwhile (LeaseLost, a 500), and the order's
        // authorizations were never given back (issue_start.cpp).
        if (caaCheckJson)
            runSql(session_,
                   "UPDATE domains SET caa_check = " + checkWithTimesSql("$2") + " WHERE id = $1",
                   {domainId, *caaCheckJson});
        return true;
    });
}

bool OrderStore::dropIssueClaim(const std::string& orderId, const std::string& owner,
                                const std::string& domainId, std::optional<Poco::Int64> retryInMs) {
    bool dropped = false;
    inTransaction(session_, [&] {
        // The domain first (the lock order of claimIssue), only when a wait is to be recorded
        // on it. Without one, the claim's row alone (then the domain view's, by its trigger):
        // a drop after the domain row stayed locked past DB_LOCK_TIMEOUT must not wait for that
        // lock again. Nobody else writes a claim within its lease but a domain's delete, whose
        // cascade takes the order before the view too, so no deadlock.
        if (retryInMs)
            runSql(session_,
                   "UPDATE domains SET issue_retry_at = greatest(coalesce(issue_retry_at, now()), "
                   "now() + $2::bigint * interval '1 ms'), issue_rate_limited_until = "
                   "greatest(coalesce(issue_rate_limited_until, now()), "
                   "now() + $2::bigint * interval '1 ms') WHERE id = $1",
                   {domainId, *retryInMs});
        dropped = runSql(session_, "DELETE FROM acme_orders WHERE id = $1 AND lease_owner = $2",
                         {orderId, owner})
                      .affected() == 1;
        return true;  // the wait is recorded either way
    });
    return dropped;
}

}  // namespace dnsh
