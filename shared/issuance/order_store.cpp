#include "issuance/order_store.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include <vector>

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

template <typename T>
std::optional<T> optional(const Poco::Nullable<T>& value) {
    return value.isNull() ? std::nullopt : std::optional<T>(value.value());
}

template <typename T>
Poco::Nullable<T> nullable(const std::optional<T>& value) {
    return value ? Poco::Nullable<T>(*value) : Poco::Nullable<T>();
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

bool OrderStore::createOrder(const NewOrderRow& row, const std::string& fromStatus) {
    return inTransaction(session_, [&] {
        Poco::Data::Statement update(session_);
        update << "UPDATE domains SET status = 'certificate_pending', error = NULL, "
                  "updated_at = now(), next_attempt_at = now() "
                  "WHERE id = $1 AND status = $2",
            bind(row.domainId), bind(fromStatus);
        if (update.execute() != 1) return false;
        // Replaces any earlier live order of the domain (repair path).
        session_ << "UPDATE acme_orders SET status = 'replaced', updated_at = now() "
                    "WHERE domain_id = $1 AND status IN ('pending', 'ready', 'processing')",
            bind(row.domainId), now;
        session_
            << "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, step, "
               "expires_at) VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')::timestamptz)",
            bind(row.id), bind(row.domainId), bind(row.accountId), bind(row.orderUrl),
            bind(row.finalizeUrl), bind(row.step), bind(row.expires), now;
        if (row.challengeUrl) {
            session_ << "INSERT INTO acme_challenges (order_id, authorization_url, challenge_url, "
                        "token, txt_name, txt_value) VALUES ($1, $2, $3, $4, $5, $6)",
                bind(row.id), bind(*row.authorizationUrl), bind(*row.challengeUrl),
                bind(*row.token), bind(*row.txtName), bind(*row.txtValue), now;
        }
        return true;
    });
}

std::optional<StoredOrder> OrderStore::liveOrder(const std::string& domainId) {
    using Row = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                            std::string, std::string, Poco::Nullable<std::string>, Poco::Int64,
                            Poco::Nullable<std::string>, Poco::Nullable<std::string>,
                            Poco::Nullable<std::string>, Poco::Nullable<std::string>, int>;
    std::vector<Row> rows;
    session_ << "SELECT o.id, o.domain_id, d.domain_name, o.order_url, o.finalize_url, o.status, "
                "o.step, o.cert_key_ciphertext, "
                "(extract(epoch FROM now() - o.created_at) * 1000)::bigint, "
                "c.authorization_url, c.challenge_url, c.txt_name, c.txt_value, "
                "(coalesce(o.expires_at < now(), false))::int "
                "FROM acme_orders o JOIN domains d ON d.id = o.domain_id "
                "LEFT JOIN acme_challenges c ON c.order_id = o.id "
                "WHERE o.domain_id = $1 AND o.status IN ('pending', 'ready', 'processing') "
                "ORDER BY o.created_at DESC, c.id LIMIT 1",
        bind(domainId), into(rows), now;
    if (rows.empty()) return std::nullopt;
    const Row& r = rows[0];
    StoredOrder order{r.get<0>(),
                      r.get<1>(),
                      r.get<2>(),
                      r.get<3>(),
                      r.get<4>(),
                      r.get<5>(),
                      r.get<6>(),
                      optional(r.get<7>()),
                      r.get<8>(),
                      false,
                      optional(r.get<9>()),
                      optional(r.get<10>()),
                      optional(r.get<11>()),
                      optional(r.get<12>())};
    order.expired = r.get<13>() != 0;
    return order;
}

int OrderStore::orderCount(const std::string& domainId) {
    Poco::Int64 count = 0;
    session_ << "SELECT count(*) FROM acme_orders WHERE domain_id = $1", bind(domainId),
        into(count), now;
    return static_cast<int>(count);
}

void OrderStore::setStep(const std::string& orderId, const std::string& step) {
    session_ << "UPDATE acme_orders SET step = $2, retries = 0, updated_at = now() WHERE id = $1",
        bind(orderId), bind(step), now;
}

int OrderStore::recordRetry(const std::string& orderId) {
    std::vector<Poco::Int64> retries;
    session_ << "UPDATE acme_orders SET retries = retries + 1, updated_at = now() WHERE id = $1 "
                "RETURNING retries",
        bind(orderId), into(retries), now;
    return retries.empty() ? 1 : static_cast<int>(retries.front());
}

std::string OrderStore::saveCertKey(const std::string& orderId, const std::string& ciphertext,
                                    const std::string& keyId) {
    session_
        << "UPDATE acme_orders SET cert_key_ciphertext = $2, cert_key_id = $3, updated_at = now() "
           "WHERE id = $1 AND cert_key_ciphertext IS NULL",
        bind(orderId), bind(ciphertext), bind(keyId), now;
    std::string stored;
    session_ << "SELECT cert_key_ciphertext FROM acme_orders WHERE id = $1", bind(orderId),
        into(stored), now;
    return stored;
}

bool OrderStore::storeCertificate(const StoredOrder& order, const std::string& certId,
                                  const std::string& leafPem, const std::string& chainPem,
                                  const std::string& keyCiphertext, const std::string& keyId,
                                  const std::string& notBefore, const std::string& notAfter,
                                  const std::string& leaseOwner) {
    return inTransaction(session_, [&] {
        Poco::Data::Statement activate(session_);
        activate << "UPDATE domains SET status = 'active', error = NULL, updated_at = now(), "
                    "next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL "
                    "WHERE id = $1 AND status = 'certificate_pending' AND lease_owner = $2",
            bind(order.domainId), bind(leaseOwner);
        if (activate.execute() != 1) return false;
        session_
            << "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
               "private_key_ciphertext, key_id, issued_at, expires_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz)",
            bind(certId), bind(order.domainId), bind(order.id), bind(leafPem), bind(chainPem),
            bind(keyCiphertext), bind(keyId), bind(notBefore), bind(notAfter), now;
        session_ << "UPDATE acme_orders SET status = 'valid', step = 'done', updated_at = now() "
                    "WHERE id = $1",
            bind(order.id), now;
        return true;
    });
}

bool OrderStore::fail(const std::string& domainId, const std::optional<std::string>& orderId,
                      const std::string& reason, const std::string& leaseOwner) {
    return inTransaction(session_, [&] {
        Poco::Data::Statement update(session_);
        update << "UPDATE domains SET status = 'failed', error = $2, updated_at = now(), "
                  "next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL "
                  "WHERE id = $1 AND status = 'certificate_pending' AND lease_owner = $3",
            bind(domainId), bind(reason), bind(leaseOwner);
        if (update.execute() != 1) return false;
        if (orderId)
            session_ << "UPDATE acme_orders SET status = 'invalid', error = $2, updated_at = now() "
                        "WHERE id = $1",
                bind(*orderId), bind(reason), now;
        return true;
    });
}

std::optional<std::string> OrderStore::claimDue(const std::string& owner, Poco::Int64 leaseMs) {
    std::vector<std::string> ids;
    // SKIP LOCKED: replicas never wait on each other; the lease outlives this transaction so a
    // crashed owner's domain is taken over only once the lease has run out.
    session_ << "UPDATE domains SET lease_owner = $1, "
                "lease_expires_at = now() + $2::bigint * interval '1 millisecond' "
                "WHERE id = (SELECT id FROM domains WHERE status = 'certificate_pending' "
                "  AND coalesce(next_attempt_at, '-infinity') <= now() "
                "  AND (lease_expires_at IS NULL OR lease_expires_at < now()) "
                "  ORDER BY next_attempt_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "RETURNING id",
        bind(owner), bind(leaseMs), into(ids), now;
    if (ids.empty()) return std::nullopt;
    return ids.front();
}

bool OrderStore::release(const std::string& domainId, const std::string& owner,
                         Poco::Int64 delayMs) {
    Poco::Data::Statement update(session_);
    update << "UPDATE domains SET lease_owner = NULL, lease_expires_at = NULL, "
              "next_attempt_at = now() + $3::bigint * interval '1 millisecond' "
              "WHERE id = $1 AND lease_owner = $2",
        bind(domainId), bind(owner), bind(delayMs);
    return update.execute() == 1;
}

}  // namespace dnsh
