#pragma once
// SQL for ACME accounts, orders, challenges and certificates. Every write that depends on the
// domain's state is guarded in SQL (status compare-and-set, lease owner), so racing processes
// and late writers cannot corrupt it.
#include <Poco/Data/Session.h>
#include <Poco/Types.h>

#include <optional>
#include <string>

namespace dnsh {

struct StoredAccount {
    Poco::Int64 id = 0;
    std::optional<std::string> accountUrl;
    std::string keyCiphertext;
};

struct StoredOrder {
    std::string id;
    std::string domainId;
    std::string domainName;
    std::string orderUrl;
    std::string finalizeUrl;
    std::string status;
    std::string step;  // await_dns, await_authz, finalize, await_order
    std::optional<std::string> certKeyCiphertext;
    Poco::Int64 ageMs = 0;  // since the order was created (database clock)
    bool expired = false;   // past the expiry the CA gave it (database clock)
    std::optional<std::string> authorizationUrl, challengeUrl, txtName, txtValue;
};

struct NewOrderRow {
    std::string id, domainId, orderUrl, finalizeUrl, step;
    std::string expires;  // RFC 3339 from the CA, may be empty
    Poco::Int64 accountId = 0;
    std::optional<std::string> authorizationUrl, challengeUrl, token, txtName, txtValue;
};

class OrderStore {
public:
    explicit OrderStore(Poco::Data::Session& session) : session_(session) {}

    std::optional<StoredAccount> findAccount(const std::string& directoryUrl);
    // Inserts unless another process got there first; then returns whichever row exists.
    StoredAccount insertAccount(const std::string& directoryUrl, const std::string& keyCiphertext,
                                const std::string& keyId, const std::string& contact);
    void setAccountUrl(Poco::Int64 accountId, const std::string& accountUrl);

    // In one transaction: domain `from` -> certificate_pending (compare-and-set), order and
    // challenge rows. False (and nothing written) when the domain was not in `from`.
    bool createOrder(const NewOrderRow& row, const std::string& fromStatus);

    std::optional<StoredOrder> liveOrder(const std::string& domainId);
    int orderCount(const std::string& domainId);
    // Moves the order on to `step` and resets its retry count.
    void setStep(const std::string& orderId, const std::string& step);
    // Counts one more retryable CA error for the order; returns the count.
    int recordRetry(const std::string& orderId);
    // Persists the certificate key once; returns the stored one (ours or an earlier run's).
    std::string saveCertKey(const std::string& orderId, const std::string& ciphertext,
                            const std::string& keyId);

    // In one transaction: certificate row, order valid, domain active (guarded by the lease).
    bool storeCertificate(const StoredOrder& order, const std::string& certId,
                          const std::string& leafPem, const std::string& chainPem,
                          const std::string& keyCiphertext, const std::string& keyId,
                          const std::string& notBefore, const std::string& notAfter,
                          const std::string& leaseOwner);

    // Order invalid, domain failed with the reason (guarded by the lease).
    bool fail(const std::string& domainId, const std::optional<std::string>& orderId,
              const std::string& reason, const std::string& leaseOwner);

    // Scheduler queue: claims up to one due domain for `owner` until the lease runs out.
    std::optional<std::string> claimDue(const std::string& owner, Poco::Int64 leaseMs);
    // Gives the domain back with its next attempt `delayMs` from now (only if still ours).
    bool release(const std::string& domainId, const std::string& owner, Poco::Int64 delayMs);

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
