#pragma once
// Certificate issuance: the handler's start (account, order, dns-01 challenge, move to
// certificate_pending) and the scheduler's resumable steps. Every step persists its progress
// before the next one begins, so a process killed at any point resumes without a lost key or a
// second order.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "acme/client.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "issuance/order_store.hpp"

namespace dnsh {

struct StartedIssuance {
    std::string orderId;
    std::string challengeDomain;
    std::string expectedTxtValue;
};

// What one scheduler step decided: come back after `delay`, or the domain is done (active or
// failed).
struct StepOutcome {
    bool finished = false;
    std::chrono::milliseconds delay{0};
    std::string step;  // for the log
};

class Issuer {
public:
    Issuer(Database& database, const Config& config, const DnsResolver& resolver);

    // POST /domains/{id}/issue-certificate. Errors: NotFound, BadRequest (not verified),
    // BadGateway (CA unreachable or refusing; the domain stays verified).
    StartedIssuance start(const std::string& domainId);

    // One step of a claimed certificate_pending domain; `leaseOwner` guards every write.
    StepOutcome advance(const std::string& domainId, const std::string& leaseOwner);

private:
    void ensureAccount();
    void reRegister();
    template <typename Call>
    auto withAccount(Call&& call) -> decltype(call());
    NewOrderRow placeOrder(const std::string& domainId, const std::string& domainName);
    int ordersOf(const std::string& domainId);
    StepOutcome replaceOrder(const std::string& domainId, const std::string& stepName);
    StepOutcome step(StoredOrder& order, const std::string& leaseOwner);
    StepOutcome fail(const std::string& domainId, const std::optional<std::string>& orderId,
                     const std::string& reason, const std::string& leaseOwner);
    StepOutcome awaitDns(StoredOrder& order, const std::string& leaseOwner);
    StepOutcome awaitAuthorization(StoredOrder& order, const std::string& leaseOwner);
    StepOutcome finalize(StoredOrder& order, const std::string& leaseOwner);
    StepOutcome awaitOrder(StoredOrder& order, const std::string& leaseOwner);
    Pkey certificateKey(StoredOrder& order);

    Database& database_;
    const Config& config_;
    const DnsResolver& resolver_;
    KeyEncryptor encryptor_;
    acme::Transport transport_;
    acme::Client client_;
    Pkey accountKey_;
    Poco::Int64 accountId_ = 0;
};

// The KEK of the configuration: KEY_ENCRYPTION_KEY_FILE, required for issuance.
KeyEncryptor loadKeyEncryptor(const Config& config);

}  // namespace dnsh
