#include "issuance/order_store.hpp"

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/check_times.hpp"
#include "domain/domain_transition.hpp"
#include "domain/outbox.hpp"
#include "issuance/backoff.hpp"
#include "issuance/order_store_sql.hpp"

namespace dnsh {

using namespace order_sql;

namespace {

// A renewal of an expired certificate is retried no more often than this.
constexpr Poco::Int64 kExpiredRenewalRetryMs = 30 * 60 * 1000;

}  // namespace

std::optional<std::string> OrderStore::claimDue(const std::string& owner, Poco::Int64 leaseMs) {
    // SKIP LOCKED: replicas never wait on each other; the lease outlives this transaction so a
    // crashed owner's order is taken over only once the lease has run out.
    // claimed_at: a POST .../check after it is one this step's lookup may have missed (release).
    const SqlRows ids = runSql(session_, "UPDATE acme_orders SET lease_owner = $1, "
                "lease_expires_at = now() + $2::bigint * interval '1 millisecond', "
                "claimed_at = now() "
                "WHERE id = (SELECT id FROM acme_orders WHERE status IN " +
                    std::string(kLive) +
                    "  AND coalesce(next_attempt_at, '-infinity') <= now() "
                    "  AND (lease_expires_at IS NULL OR lease_expires_at < now()) "
                    "  ORDER BY next_attempt_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "RETURNING id",
        {owner, leaseMs});
    if (ids.empty()) return std::nullopt;
    return ids.text(0, "id");
}

StoredOrder OrderStore::load(const std::string& orderId, const std::string& owner) {
    const SqlRows rows = runSql(session_, "SELECT o.id, o.domain_id, d.domain_name, o.kind, o.step, o.order_url, "
              "o.finalize_url, o.cert_key_ciphertext, o.replaces_certificate_id, o.attempts, "
              "o.generation, coalesce(c.renewal_failures, 0) AS renewal_failures, "
              "(extract(epoch FROM now() - o.step_started_at) * 1000)::bigint AS step_age_ms, "
              "coalesce(o.expires_at < now(), false) AS expired, "
              "o.expires_at IS NOT NULL AS has_expiry, o.delegated, o.dns_poll, "
              "o.step_clock_restarted, "
              "d.delegation_status, d.verification_token, d.profile AS domain_profile, "
              "oa.directory_url AS ca_directory, ca.directory_url AS replaces_ca_directory "
              "FROM acme_orders o JOIN domains d ON d.id = o.domain_id "
              "LEFT JOIN acme_accounts oa ON oa.id = o.account_id "
              "LEFT JOIN certificates c ON c.id = o.replaces_certificate_id "
              "LEFT JOIN acme_orders co ON co.id = c.order_id "
              "LEFT JOIN acme_accounts ca ON ca.id = co.account_id "
              "WHERE o.id = $1 AND o.lease_owner = $2 AND o.lease_expires_at > now()",
        {orderId, owner});
    if (rows.empty()) throw LeaseLost(orderId);
    auto text = [&](const char* column) { return rows.text(0, column); };
    auto optionalText = [&](const char* column) { return rows.optionalText(0, column); };
    StoredOrder order;
    order.id = text("id");
    order.domainId = text("domain_id");
    order.domainName = text("domain_name");
    const auto kind = parseOrderKind(text("kind"));
    const auto step = parseOrderStep(text("step"));
    if (!kind || !step)
        throw Error(ErrorCode::Internal, "order " + orderId + " has an unknown kind or step");
    order.kind = *kind;
    order.step = *step;
    order.orderUrl = optionalText("order_url").value_or("");
    order.finalizeUrl = optionalText("finalize_url").value_or("");
    order.certKeyCiphertext = optionalText("cert_key_ciphertext");
    order.replacesCertificateId = optionalText("replaces_certificate_id");
    order.attempts = static_cast<int>(rows.integer(0, "attempts"));
    order.generation = static_cast<int>(rows.integer(0, "generation"));
    order.renewalFailures = static_cast<int>(rows.integer(0, "renewal_failures"));
    order.stepAgeMs = rows.integer(0, "step_age_ms");
    order.expired = rows.boolean(0, "expired");
    order.hasExpiry = rows.boolean(0, "has_expiry");
    order.delegated = rows.boolean(0, "delegated");
    order.dnsPoll = rows.boolean(0, "dns_poll");
    order.stepClockRestarted = rows.boolean(0, "step_clock_restarted");
    order.delegationStatus = text("delegation_status");
    order.verificationToken = text("verification_token");
    order.domainProfile = optionalText("domain_profile");
    order.caDirectory = optionalText("ca_directory").value_or("");
    order.replacesCaDirectory = optionalText("replaces_ca_directory").value_or("");

    const SqlRows challenges =
        runSql(session_,
               "SELECT authorization_url, challenge_url, token, txt_name, txt_value, method, "
               "coalesce(published_at_name, '') AS published_at_name, "
               "coalesce(identifier, '') AS identifier FROM acme_challenges "
               "WHERE order_id = $1 ORDER BY id",
               {orderId});
    for (int row = 0; row < challenges.size(); ++row) {
        auto column = [&](const char* name) { return challenges.text(row, name); };
        // The table's CHECK allows only the names of kChallengeMethodNames.
        order.challenges.push_back(OrderChallenge{
            column("authorization_url"), column("challenge_url"), column("token"),
            column("txt_name"), column("txt_value"), column("published_at_name"),
            parseChallengeMethod(column("method")).value_or(ChallengeMethod::Dns01),
            column("identifier")});
    }
    return order;
}

void OrderStore::extendLease(const std::string& orderId, const std::string& owner,
                             Poco::Int64 leaseMs) {
    runGuarded(session_, orderId,
               "UPDATE acme_orders SET lease_expires_at = now() + $3::bigint * interval '1 ms' "
               "WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > now()",
               {orderId, owner, leaseMs});
}

void OrderStore::release(const std::string& orderId, const std::string& owner,
                         Poco::Int64 delayMs, bool dnsPoll) {
    // A check requested while this step ran (requestDnsCheck) may have come after the lookup
    // started, i.e. after the customer published: the next lookup is due at once, not after
    // the poll's delay. Never the wait after an error (dnsPoll false).
    runGuarded(session_, orderId,
               "UPDATE acme_orders SET lease_owner = NULL, lease_expires_at = NULL, "
               "next_attempt_at = now() + CASE WHEN $4::boolean AND step = 'await_dns' "
               "  AND dns_check_requested_at > claimed_at THEN interval '0' "
               "  ELSE $3::bigint * interval '1 millisecond' END, dns_poll = $4 "
               "WHERE id = $1 AND lease_owner = $2",
               {orderId, owner, delayMs, dnsPoll});
}

void OrderStore::recordPlaced(const std::string& orderId, const std::string& owner,
                              const PlacedOrder& placed) {
    inTransaction(session_, [&] {
        if (!lockDomainOfOrder(session_, orderId)) throw LeaseLost(orderId);
        const std::string step(toString(placed.step()));
        runGuarded(session_, orderId,
                   "UPDATE acme_orders SET account_id = $3, order_url = $4, finalize_url = $5, "
                   "expires_at = to_timestamp($6::bigint / 1000.0), step = $7, "
                   "step_started_at = now(), delegated = $8, profile = nullif($9, ''), "
                   "updated_at = now() "
                   "WHERE id = $1 AND lease_owner = $2 AND step = 'place_order'",
                   {orderId, owner, placed.accountId, placed.orderUrl, placed.finalizeUrl,
                    placed.expiresEpochMs, step, placed.delegated, placed.profile});
        insertChallenges(session_, orderId, placed.challenges);
        recordValidation(session_, orderId, placed);
        recordRenewalActionRequired(session_, orderId);
        return true;
    });
}

void OrderStore::setStep(const std::string& orderId, const std::string& owner, OrderStep step) {
    const std::string name(toString(step));
    // `step` on the right is the row's old step: a new step's clock may be restarted once again.
    runGuarded(session_, orderId,
               "UPDATE acme_orders SET step = $3, step_started_at = now(), updated_at = now(), "
               "step_clock_restarted = step_clock_restarted AND step = $3 "
               "WHERE id = $1 AND lease_owner = $2",
               {orderId, owner, name});
}

void OrderStore::restartStepClock(const std::string& orderId, const std::string& owner) {
    runGuarded(session_, orderId,
               "UPDATE acme_orders SET step_started_at = now(), step_clock_restarted = true, "
               "updated_at = now() WHERE id = $1 AND lease_owner = $2",
               {orderId, owner});
}

void OrderStore::markPublished(const std::string& orderId, const std::string& owner,
                               const std::string& authorizationUrl, const std::string& name) {
    runGuarded(session_, orderId,
               "UPDATE acme_challenges c SET published_at_name = nullif($4, ''), updated_at = now() "
               "FROM acme_orders o WHERE o.id = $1 AND o.lease_owner = $2 "
               "AND c.order_id = o.id AND c.authorization_url = $3",
               {orderId, owner, authorizationUrl, name});
}

// Only while the order is live and ours: a worker that lost its lease (paused past it) must not
// put its stale check on a domain another worker has since made active, or on the next order's.
void OrderStore::recordCheck(const std::string& orderId, const std::string& owner,
                             const std::string& checkJson,
                             std::optional<Poco::Int64> nextCheckInMs) {
    runGuarded(session_, orderId,
               "UPDATE domains d SET last_check = " + checkWithTimesSql("$3", "$4") +
                   " FROM acme_orders o WHERE o.id = $1 AND o.lease_owner = $2 AND o.status IN " +
                   std::string(kLive) + " AND d.id = o.domain_id",
               {orderId, owner, checkJson, nextCheckInMs});
}

std::string OrderStore::recordCaaCheck(const std::string& orderId, const std::string& owner,
                                       const std::string& checkJson) {
    return runGuarded(session_, orderId,
                      "UPDATE domains d SET caa_check = " + checkWithTimesSql("$3") +
                          " FROM acme_orders o WHERE o.id = $1 AND o.lease_owner = $2 AND "
                          "o.status IN " +
                          std::string(kLive) + " AND d.id = o.domain_id RETURNING d.caa_check",
                      {orderId, owner, checkJson})
        .text(0, "caa_check");
}

void OrderStore::setDelegationStatus(const std::string& orderId, const std::string& owner,
                                     const std::string& status) {
    // $3::text: the column is a domain type (migration 021) and $3 is also compared with it.
    runGuarded(session_, orderId,
               "UPDATE domains d SET delegation_status = $3::text, updated_at = CASE WHEN "
               "d.delegation_status = $3 THEN d.updated_at ELSE now() END FROM acme_orders o "
               "WHERE o.id = $1 AND o.lease_owner = $2 AND d.id = o.domain_id",
               {orderId, owner, status});
}

void OrderStore::markUnpublished(const std::string& orderId, const std::string& authorizationUrl) {
    runSql(session_,
           "UPDATE acme_challenges c SET published_at_name = NULL, updated_at = now() "
           "FROM acme_orders o WHERE o.id = $1 AND o.status NOT IN " +
               std::string(kLive) + " AND c.order_id = o.id AND c.authorization_url = $2",
           {orderId, authorizationUrl});
}

int OrderStore::recordAttempt(const std::string& orderId, const std::string& owner) {
    const SqlRows rows = runSql(session_,
                                "UPDATE acme_orders SET attempts = attempts + 1, updated_at = now() "
                                "WHERE id = $1 AND lease_owner = $2 RETURNING attempts",
                                {orderId, owner});
    if (rows.empty()) throw LeaseLost(orderId);
    return static_cast<int>(rows.integer(0, "attempts"));
}

std::string OrderStore::saveCertKey(const std::string& orderId, const std::string& owner,
                                    const std::string& ciphertext, const std::string& keyId) {
    // The key an earlier run persisted wins: the CA may already have our CSR for it.
    const SqlRows stored =
        runSql(session_,
               "UPDATE acme_orders SET cert_key_ciphertext = coalesce(cert_key_ciphertext, $3), "
               "cert_key_id = coalesce(cert_key_id, $4), updated_at = now() "
               "WHERE id = $1 AND lease_owner = $2 RETURNING cert_key_ciphertext",
               {orderId, owner, ciphertext, keyId});
    if (stored.empty()) throw LeaseLost(orderId);
    return stored.text(0, "cert_key_ciphertext");
}

void OrderStore::storeCertificate(const StoredOrder& order, const std::string& owner,
                                  const NewCertificate& certificate) {
    const bool stored = inTransaction(session_, [&] {
        if (!lockDomain(session_, order.domainId)) throw LeaseLost(order.id);
        // Locks the order row until the commit: the INSERT below copies its key as it is now,
        // and rotate-kek cannot re-seal it in between (its NOWAIT batch retries after the commit).
        const SqlRows finished = runGuarded(
            session_, order.id,
            "UPDATE acme_orders SET status = 'valid', step = 'done', error = NULL, "
            "error_code = NULL, lease_owner = NULL, lease_expires_at = NULL, "
            "next_attempt_at = NULL, updated_at = now() "
            "WHERE id = $1 AND lease_owner = $2 "
            "RETURNING cert_key_ciphertext IS NOT NULL AND cert_key_id IS NOT NULL AS key_kept",
            {order.id, owner});
        // finalize saves the key (saveCertKey) before the CA can issue for it.
        if (!finished.boolean(0, "key_kept"))
            throw Error(ErrorCode::Internal, "order " + order.id +
                                                 " has no sealed certificate key "
                                                 "(cert_key_ciphertext or cert_key_id is NULL) "
                                                 "to store its certificate with");
        if (order.kind == OrderKind::Issue &&
            !transitionDomain(session_, order.domainId,
                              {DomainStatus::CertificatePending, DomainStatus::Active, "", std::nullopt}))
            return false;
        runSql(session_,
               "UPDATE certificates SET renew_at = NULL, ari_next_fetch_at = NULL "
               "WHERE domain_id = $1",
               {order.domainId});
        // -1: no renewalInfo, never fetched again.
        const Poco::Int64 ariNextFetchMs = certificate.ariNextFetchMs.value_or(-1);
        // renew_at never after overdue_at, from which dnsh_renewals_overdue counts it: the
        // trigger's own expression (007_metrics.sql) in this session. Its interval is whole days,
        // added in the session's TimeZone: across a daylight saving change an hour more or less
        // than the milliseconds renewBeforeExpiry and latestRenewal count.
        runSql(session_, "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, "
                    "chain_pem, private_key_ciphertext, key_id, issued_at, expires_at, renew_at, "
                    "ari_next_fetch_at, profile, ca) "
                    "VALUES ($1, $2, $3, $4, $5, "
                    // The order's key as rotate-kek left it, not the turn's older copy: sealed
                    // under a KEK the operator may already have removed (README "Rotate the KEK").
                    "(SELECT cert_key_ciphertext FROM acme_orders WHERE id = $3), "
                    "(SELECT cert_key_id FROM acme_orders WHERE id = $3), "
                    "$6::timestamptz, $7::timestamptz, "
                    "least($7::timestamptz - $8::bigint * interval '1 millisecond', "
                    "  $7::timestamptz - ($7::timestamptz - $6::timestamptz) / 10), "
                    "CASE WHEN $9::bigint >= 0 THEN now() + $9::bigint * interval '1 ms' END, "
                    // The profile its order was placed with, and the CA it was placed at.
                    "(SELECT profile FROM acme_orders WHERE id = $3), "
                    "(SELECT a.directory_url FROM acme_orders o JOIN acme_accounts a "
                    "   ON a.id = o.account_id WHERE o.id = $3))",
            {certificate.id, order.domainId, order.id, certificate.leafPem, certificate.chainPem,
             certificate.notBefore, certificate.notAfter, certificate.renewBeforeMs,
             ariNextFetchMs});
        recordDomainEvent(session_, order.kind == OrderKind::Issue ? EventType::CertificateIssued
                                                                   : EventType::CertificateRenewed,
                          order.domainId);
        return true;
    });
    if (!stored)
        throw Error(ErrorCode::Internal,
                    "domain " + order.domainId + " was no longer certificate_pending");
}

void OrderStore::fail(const StoredOrder& order, const std::string& owner, const std::string& reason,
                      FailureCode code, Poco::Int64 renewalRetryMs,
                      Poco::Int64 issueRetryBaseMs,
                      const std::optional<std::string>& lastCheckJson) {
    inTransaction(session_, [&] {
        if (!lockDomain(session_, order.domainId)) throw LeaseLost(order.id);
        runGuarded(session_, order.id,
                   "UPDATE acme_orders SET status = 'invalid', error = $3, error_code = $4, "
                   "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, "
                   "updated_at = now() WHERE id = $1 AND lease_owner = $2",
                   {order.id, owner, reason, std::string(toString(code))});
        // Here, under the lease this transaction gives up: recordCheck after it would be fenced.
        if (lastCheckJson)
            runSql(session_,
                   "UPDATE domains SET last_check = " + checkWithTimesSql("$2") + " WHERE id = $1",
                   {order.domainId, *lastCheckJson});
        if (order.kind == OrderKind::Issue) {
            // Not certificate_pending any more (deleted, say): nothing else to record.
            if (transitionDomain(
                    session_, order.domainId,
                    {DomainStatus::CertificatePending, DomainStatus::Failed, reason, code})) {
                // The retry backoff: the base doubled per failure in a row, capped.
                runSql(session_,
                       "UPDATE domains SET issue_failures = issue_failures + 1, "
                       "issue_retry_at = now() + least($2::bigint * power(2::double precision, "
                       "least(issue_failures, 30)), $3::bigint) * interval '1 ms' WHERE id = $1",
                       {order.domainId, issueRetryBaseMs,
                        static_cast<Poco::Int64>(kMaxIssueRetryBackoff.count())});
                recordDomainEvent(session_, EventType::CertificateFailed, order.domainId);
            }
        } else if (order.replacesCertificateId) {
            // The current certificate stays and renewal is tried again, past its expiry too: a
            // domain must never be left with an expired certificate and nothing trying. Once
            // expired, no faster than every kExpiredRenewalRetryMs (its customer has to act).
            runSql(session_,
                   "UPDATE certificates SET renewal_failures = renewal_failures + 1, "
                   "renew_at = now() + CASE WHEN expires_at <= now() "
                   "  THEN greatest($2::bigint, $3::bigint) ELSE $2::bigint END * interval '1 ms' "
                   "WHERE id = $1",
                   {*order.replacesCertificateId, renewalRetryMs, kExpiredRenewalRetryMs});
            recordDomainEvent(session_, renewalFailureEvent(code), order.domainId);
        }
        return true;
    });
}

std::string OrderStore::replace(const StoredOrder& order, const std::string& owner) {
    const std::string newId = randomHex(16);
    inTransaction(session_, [&] {
        if (!lockDomain(session_, order.domainId)) throw LeaseLost(order.id);
        runGuarded(session_, order.id,
                   "UPDATE acme_orders SET status = 'replaced', lease_owner = NULL, "
                   "lease_expires_at = NULL, next_attempt_at = NULL, updated_at = now() "
                   "WHERE id = $1 AND lease_owner = $2",
                   {order.id, owner});
        runSql(session_,
               "INSERT INTO acme_orders (id, domain_id, kind, step, generation, "
               "replaces_certificate_id, next_attempt_at, delegated) "
               "SELECT $2, domain_id, kind, 'place_order', generation + 1, "
               "replaces_certificate_id, now(), delegated FROM acme_orders WHERE id = $1",
               {order.id, newId});
        return true;
    });
    return newId;
}

}  // namespace dnsh
