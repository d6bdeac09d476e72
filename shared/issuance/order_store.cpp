#include "issuance/order_store.hpp"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "domain/domain_transition.hpp"
#include "events/outbox.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

constexpr const char* kLive = "('pending', 'ready', 'processing')";

template <typename T>
std::optional<T> optional(const Poco::Nullable<T>& value) {
    return value.isNull() ? std::nullopt : std::optional<T>(value.value());
}

// Runs `work` in a transaction; rolls back on any exception or when it returns false.
template <typename Work>
bool inTransaction(Poco::Data::Session& session, Work&& work) {
    session.begin();
    try {
        if (!work()) {
            session.rollback();
            return false;
        }
        session.commit();
        return true;
    } catch (...) {
        try {
            session.rollback();
        } catch (...) {
        }
        throw;
    }
}

// Executes a statement whose WHERE clause names the lease owner: no row means not ours.
void executeGuarded(Poco::Data::Statement& statement, const std::string& orderId) {
    if (statement.execute() == 0) throw LeaseLost(orderId);
}

std::string text(Poco::Data::RecordSet& rows, const std::string& column) {
    return rows[column].convert<std::string>();
}

std::optional<std::string> optionalText(Poco::Data::RecordSet& rows, const std::string& column) {
    if (rows.isNull(column)) return std::nullopt;
    return rows[column].convert<std::string>();
}

void insertChallenges(Poco::Data::Session& session, const std::string& orderId,
                      const std::vector<OrderChallenge>& challenges) {
    for (const auto& challenge : challenges)
        session << "INSERT INTO acme_challenges (order_id, authorization_url, challenge_url, "
                   "token, txt_name, txt_value) VALUES ($1, $2, $3, $4, $5, $6)",
            bind(orderId), bind(challenge.authorizationUrl), bind(challenge.challengeUrl),
            bind(challenge.token), bind(challenge.txtName), bind(challenge.txtValue), now;
}

}  // namespace

std::optional<StoredAccount> OrderStore::findAccount(const std::string& directoryUrl) {
    std::vector<Poco::Tuple<Poco::Int64, Poco::Nullable<std::string>, std::string>> rows;
    session_
        << "SELECT id, account_url, key_ciphertext FROM acme_accounts WHERE directory_url = $1",
        bind(directoryUrl), into(rows), now;
    if (rows.empty()) return std::nullopt;
    return StoredAccount{rows[0].get<0>(), optional(rows[0].get<1>()), rows[0].get<2>()};
}

StoredAccount OrderStore::insertAccount(const std::string& directoryUrl,
                                        const std::string& keyCiphertext, const std::string& keyId,
                                        const std::string& contact) {
    session_ << "INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id, contact) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (directory_url) DO NOTHING",
        bind(directoryUrl), bind(keyCiphertext), bind(keyId), bind(contact), now;
    return *findAccount(directoryUrl);
}

void OrderStore::setAccountUrl(Poco::Int64 accountId, const std::string& accountUrl) {
    session_ << "UPDATE acme_accounts SET account_url = $2, updated_at = now() WHERE id = $1",
        bind(accountId), bind(accountUrl), now;
}

bool OrderStore::createIssueOrder(const std::string& orderId, const std::string& domainId,
                                  DomainStatus from, const PlacedOrder& placed) {
    return inTransaction(session_, [&] {
        if (!transitionDomain(session_, domainId, {from, DomainStatus::CertificatePending, "", ""}))
            return false;
        const std::string step(toString(placed.step()));
        session_ << "INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                    "finalize_url, step, expires_at, next_attempt_at, delegated) VALUES ($1, $2, "
                    "'issue', $3, $4, $5, $6, nullif($7, '')::timestamptz, now(), $8)",
            bind(orderId), bind(domainId), bind(placed.accountId), bind(placed.orderUrl),
            bind(placed.finalizeUrl), bind(step), bind(placed.expires), bind(placed.delegated), now;
        insertChallenges(session_, orderId, placed.challenges);
        return true;
    });
}

int OrderStore::scheduleRenewals(int limit) {
    std::vector<std::string> created;
    // One statement: the due certificates are locked (SKIP LOCKED: replicas split them), their
    // renew_at cleared and a renewal order inserted for each. A domain that already has a live
    // order (or is not active) is skipped and keeps its renew_at.
    session_ << "WITH due AS ("
                "  SELECT c.id, c.domain_id FROM certificates c "
                "  JOIN domains d ON d.id = c.domain_id AND d.status = 'active' "
                "  WHERE c.renew_at <= now() AND NOT EXISTS (SELECT 1 FROM acme_orders o "
                "    WHERE o.domain_id = c.domain_id AND o.status IN " +
                    std::string(kLive) +
                    ") "
                    "  ORDER BY c.renew_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED), "
                    "taken AS (UPDATE certificates SET renew_at = NULL FROM due "
                    "  WHERE certificates.id = due.id RETURNING due.id, due.domain_id) "
                    "INSERT INTO acme_orders (id, domain_id, kind, step, replaces_certificate_id, "
                    "  next_attempt_at) "
                    "SELECT replace(gen_random_uuid()::text, '-', ''), domain_id, 'renewal', "
                    "  'place_order', id, now() FROM taken RETURNING id",
        bind(limit), into(created), now;
    return static_cast<int>(created.size());
}

std::vector<AriDue> OrderStore::claimAriFetches(int limit, Poco::Int64 holdMs) {
    std::vector<Poco::Tuple<std::string, std::string>> rows;
    session_ << "UPDATE certificates SET ari_next_fetch_at = now() + $2::bigint * interval '1 ms' "
                "WHERE id IN (SELECT id FROM certificates WHERE ari_next_fetch_at <= now() "
                "  ORDER BY ari_next_fetch_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, certificate_pem",
        bind(limit), bind(holdMs), into(rows), now;
    std::vector<AriDue> due;
    for (const auto& row : rows) due.push_back(AriDue{row.get<0>(), row.get<1>()});
    return due;
}

void OrderStore::recordAri(const std::string& certificateId,
                           std::optional<Poco::Int64> renewAtEpochMs, Poco::Int64 nextFetchMs) {
    const Poco::Int64 renewAt = renewAtEpochMs.value_or(-1);
    session_ << "UPDATE certificates SET "
                "renew_at = CASE WHEN renew_at IS NULL OR $2::bigint < 0 THEN renew_at "
                "  ELSE to_timestamp($2::bigint / 1000.0) END, "
                "ari_next_fetch_at = now() + $3::bigint * interval '1 ms' WHERE id = $1",
        bind(certificateId), bind(renewAt), bind(nextFetchMs), now;
}

std::optional<std::string> OrderStore::claimDue(const std::string& owner, Poco::Int64 leaseMs) {
    std::vector<std::string> ids;
    // SKIP LOCKED: replicas never wait on each other; the lease outlives this transaction so a
    // crashed owner's order is taken over only once the lease has run out.
    session_ << "UPDATE acme_orders SET lease_owner = $1, "
                "lease_expires_at = now() + $2::bigint * interval '1 millisecond' "
                "WHERE id = (SELECT id FROM acme_orders WHERE status IN " +
                    std::string(kLive) +
                    "  AND coalesce(next_attempt_at, '-infinity') <= now() "
                    "  AND (lease_expires_at IS NULL OR lease_expires_at < now()) "
                    "  ORDER BY next_attempt_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "RETURNING id",
        bind(owner), bind(leaseMs), into(ids), now;
    if (ids.empty()) return std::nullopt;
    return ids.front();
}

StoredOrder OrderStore::load(const std::string& orderId, const std::string& owner) {
    Poco::Data::Statement select(session_);
    select << "SELECT o.id, o.domain_id, d.domain_name, o.kind, o.step, o.order_url, "
              "o.finalize_url, o.cert_key_ciphertext, o.replaces_certificate_id, o.attempts, "
              "o.generation, coalesce(c.renewal_failures, 0) AS renewal_failures, "
              "(extract(epoch FROM now() - o.step_started_at) * 1000)::bigint AS step_age_ms, "
              "coalesce(o.expires_at < now(), false) AS expired, o.delegated, "
              "d.delegation_status, d.verification_token "
              "FROM acme_orders o JOIN domains d ON d.id = o.domain_id "
              "LEFT JOIN certificates c ON c.id = o.replaces_certificate_id "
              "WHERE o.id = $1 AND o.lease_owner = $2 AND o.lease_expires_at > now()",
        bind(orderId), bind(owner), now;
    Poco::Data::RecordSet rows(select);
    if (rows.rowCount() == 0) throw LeaseLost(orderId);
    StoredOrder order;
    order.id = text(rows, "id");
    order.domainId = text(rows, "domain_id");
    order.domainName = text(rows, "domain_name");
    const auto kind = parseOrderKind(text(rows, "kind"));
    const auto step = parseOrderStep(text(rows, "step"));
    if (!kind || !step)
        throw Error(ErrorCode::Internal, "order " + orderId + " has an unknown kind or step");
    order.kind = *kind;
    order.step = *step;
    order.orderUrl = optionalText(rows, "order_url").value_or("");
    order.finalizeUrl = optionalText(rows, "finalize_url").value_or("");
    order.certKeyCiphertext = optionalText(rows, "cert_key_ciphertext");
    order.replacesCertificateId = optionalText(rows, "replaces_certificate_id");
    order.attempts = rows["attempts"].convert<int>();
    order.generation = rows["generation"].convert<int>();
    order.renewalFailures = rows["renewal_failures"].convert<int>();
    order.stepAgeMs = rows["step_age_ms"].convert<Poco::Int64>();
    order.expired = rows["expired"].convert<bool>();
    order.delegated = rows["delegated"].convert<bool>();
    order.delegationStatus = text(rows, "delegation_status");
    order.verificationToken = text(rows, "verification_token");

    std::vector<
        Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string>>
        challenges;
    session_ << "SELECT authorization_url, challenge_url, token, txt_name, txt_value, "
                "coalesce(published_at_name, '') FROM acme_challenges WHERE order_id = $1 "
                "ORDER BY id",
        bind(orderId), into(challenges), now;
    for (const auto& c : challenges)
        order.challenges.push_back(
            OrderChallenge{c.get<0>(), c.get<1>(), c.get<2>(), c.get<3>(), c.get<4>(), c.get<5>()});
    return order;
}

void OrderStore::extendLease(const std::string& orderId, const std::string& owner,
                             Poco::Int64 leaseMs) {
    Poco::Data::Statement update(session_);
    update << "UPDATE acme_orders SET lease_expires_at = now() + $3::bigint * interval '1 ms' "
              "WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > now()",
        bind(orderId), bind(owner), bind(leaseMs);
    executeGuarded(update, orderId);
}

void OrderStore::release(const std::string& orderId, const std::string& owner,
                         Poco::Int64 delayMs) {
    Poco::Data::Statement update(session_);
    update << "UPDATE acme_orders SET lease_owner = NULL, lease_expires_at = NULL, "
              "next_attempt_at = now() + $3::bigint * interval '1 millisecond' "
              "WHERE id = $1 AND lease_owner = $2",
        bind(orderId), bind(owner), bind(delayMs);
    executeGuarded(update, orderId);
}

void OrderStore::recordPlaced(const std::string& orderId, const std::string& owner,
                              const PlacedOrder& placed) {
    inTransaction(session_, [&] {
        const std::string step(toString(placed.step()));
        Poco::Data::Statement update(session_);
        update << "UPDATE acme_orders SET account_id = $3, order_url = $4, finalize_url = $5, "
                  "expires_at = nullif($6, '')::timestamptz, step = $7, step_started_at = now(), "
                  "delegated = $8, updated_at = now() "
                  "WHERE id = $1 AND lease_owner = $2 AND step = 'place_order'",
            bind(orderId), bind(owner), bind(placed.accountId), bind(placed.orderUrl),
            bind(placed.finalizeUrl), bind(placed.expires), bind(step), bind(placed.delegated);
        executeGuarded(update, orderId);
        insertChallenges(session_, orderId, placed.challenges);
        recordRenewalActionRequired(session_, orderId);
        return true;
    });
}

void OrderStore::setStep(const std::string& orderId, const std::string& owner, OrderStep step) {
    const std::string name(toString(step));
    Poco::Data::Statement update(session_);
    update << "UPDATE acme_orders SET step = $3, step_started_at = now(), updated_at = now() "
              "WHERE id = $1 AND lease_owner = $2",
        bind(orderId), bind(owner), bind(name);
    executeGuarded(update, orderId);
}

void OrderStore::markPublished(const std::string& orderId, const std::string& authorizationUrl,
                               const std::string& name) {
    session_ << "UPDATE acme_challenges SET published_at_name = nullif($3, ''), "
                "updated_at = now() WHERE order_id = $1 AND authorization_url = $2",
        bind(orderId), bind(authorizationUrl), bind(name), now;
}

int OrderStore::recordAttempt(const std::string& orderId, const std::string& owner) {
    std::vector<int> attempts;
    session_ << "UPDATE acme_orders SET attempts = attempts + 1, updated_at = now() "
                "WHERE id = $1 AND lease_owner = $2 RETURNING attempts",
        bind(orderId), bind(owner), into(attempts), now;
    if (attempts.empty()) throw LeaseLost(orderId);
    return attempts.front();
}

std::string OrderStore::saveCertKey(const std::string& orderId, const std::string& owner,
                                    const std::string& ciphertext, const std::string& keyId) {
    std::vector<std::string> stored;
    // The key an earlier run persisted wins: the CA may already have our CSR for it.
    session_ << "UPDATE acme_orders SET cert_key_ciphertext = coalesce(cert_key_ciphertext, $3), "
                "cert_key_id = coalesce(cert_key_id, $4), updated_at = now() "
                "WHERE id = $1 AND lease_owner = $2 RETURNING cert_key_ciphertext",
        bind(orderId), bind(owner), bind(ciphertext), bind(keyId), into(stored), now;
    if (stored.empty()) throw LeaseLost(orderId);
    return stored.front();
}

void OrderStore::storeCertificate(const StoredOrder& order, const std::string& owner,
                                  const NewCertificate& certificate) {
    const bool stored = inTransaction(session_, [&] {
        Poco::Data::Statement done(session_);
        done << "UPDATE acme_orders SET status = 'valid', step = 'done', error = NULL, "
                "error_code = NULL, lease_owner = NULL, lease_expires_at = NULL, "
                "next_attempt_at = NULL, updated_at = now() WHERE id = $1 AND lease_owner = $2",
            bind(order.id), bind(owner);
        executeGuarded(done, order.id);
        if (order.kind == OrderKind::Issue &&
            !transitionDomain(session_, order.domainId,
                              {DomainStatus::CertificatePending, DomainStatus::Active, "", ""}))
            return false;
        session_ << "UPDATE certificates SET renew_at = NULL, ari_next_fetch_at = NULL "
                    "WHERE domain_id = $1",
            bind(order.domainId), now;
        // -1: no renewalInfo, never fetched again.
        const Poco::Int64 ariNextFetchMs = certificate.ariNextFetchMs.value_or(-1);
        session_ << "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, "
                    "chain_pem, private_key_ciphertext, key_id, issued_at, expires_at, renew_at, "
                    "ari_next_fetch_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, "
                    "$9::timestamptz - $10::bigint * interval '1 millisecond', "
                    "CASE WHEN $11::bigint >= 0 THEN now() + $11::bigint * interval '1 ms' END)",
            bind(certificate.id), bind(order.domainId), bind(order.id), bind(certificate.leafPem),
            bind(certificate.chainPem), bind(certificate.keyCiphertext), bind(certificate.keyId),
            bind(certificate.notBefore), bind(certificate.notAfter),
            bind(certificate.renewBeforeMs), bind(ariNextFetchMs), now;
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
                      const std::string& errorCode, Poco::Int64 renewalRetryMs) {
    inTransaction(session_, [&] {
        Poco::Data::Statement invalid(session_);
        invalid << "UPDATE acme_orders SET status = 'invalid', error = $3, error_code = $4, "
                   "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, "
                   "updated_at = now() WHERE id = $1 AND lease_owner = $2",
            bind(order.id), bind(owner), bind(reason), bind(errorCode);
        executeGuarded(invalid, order.id);
        if (order.kind == OrderKind::Issue) {
            // Not certificate_pending any more (deleted, say): nothing else to record.
            if (transitionDomain(
                    session_, order.domainId,
                    {DomainStatus::CertificatePending, DomainStatus::Failed, reason, errorCode}))
                recordDomainEvent(session_, EventType::CertificateFailed, order.domainId);
        } else if (order.replacesCertificateId) {
            // The current certificate stays; renewal is tried again until it expires.
            session_ << "UPDATE certificates SET renewal_failures = renewal_failures + 1, "
                        "renew_at = CASE WHEN now() + $2::bigint * interval '1 ms' < expires_at "
                        "  THEN now() + $2::bigint * interval '1 ms' END "
                        "WHERE id = $1",
                bind(*order.replacesCertificateId), bind(renewalRetryMs), now;
            recordDomainEvent(session_, renewalFailureEvent(errorCode), order.domainId);
        }
        return true;
    });
}

std::string OrderStore::replace(const StoredOrder& order, const std::string& owner) {
    const std::string newId = randomHex(16);
    inTransaction(session_, [&] {
        Poco::Data::Statement replaced(session_);
        replaced << "UPDATE acme_orders SET status = 'replaced', lease_owner = NULL, "
                    "lease_expires_at = NULL, next_attempt_at = NULL, updated_at = now() "
                    "WHERE id = $1 AND lease_owner = $2",
            bind(order.id), bind(owner);
        executeGuarded(replaced, order.id);
        session_ << "INSERT INTO acme_orders (id, domain_id, kind, step, generation, "
                    "replaces_certificate_id, next_attempt_at, delegated) "
                    "SELECT $2, domain_id, kind, 'place_order', generation + 1, "
                    "replaces_certificate_id, now(), delegated FROM acme_orders WHERE id = $1",
            bind(order.id), bind(newId), now;
        return true;
    });
    return newId;
}

}  // namespace dnsh
