#include "issuance/step_context.hpp"

namespace dnsh {

LogFields orderFields(const StoredOrder& order) {
    return {{"domain_id", order.domainId},
            {"order_id", order.id},
            {"kind", std::string(toString(order.kind))}};
}

StepContext::StepContext(EngineParts& parts, const std::string& orderId, const std::string& owner,
                         std::chrono::steady_clock::time_point claimedAt)
    : parts_(parts),
      owner_(owner),
      leaseUntil_(claimedAt + parts.config.leaseDuration),
      order_(write([&](OrderStore& orders) { return orders.load(orderId, owner); })) {}

AcmeAccount& StepContext::account() {
    if (order_.caDirectory.empty()) return parts_.cas.first();
    if (AcmeAccount* account = parts_.cas.find(order_.caDirectory)) return *account;
    // Another replica may have it (a CA added host by host): not the order's error.
    throw NotConfiguredHere{FailureCode::NoCaAvailable,
                            "the order's CA " + order_.caDirectory +
                                " is not configured (ACME_CAS) on any scheduler that took the "
                                "order",
                            "add the CA back, or delete the domain"};
}

void StepContext::keepLease() {
    stopPoint();
    extendLease();
}

void StepContext::extendLease() {
    const auto now = std::chrono::steady_clock::now();
    write([&](OrderStore& orders) {
        orders.extendLease(order_.id, owner_, config().leaseDuration.count());
        return true;
    });
    leaseUntil_ = now + config().leaseDuration;
}

void StepContext::keepLeaseFor(std::chrono::milliseconds budget) {
    if (std::chrono::steady_clock::now() + 2 * budget > leaseUntil_) extendLease();
}

void StepContext::stopPoint() {
    if (stopsHeld_ == 0 && parts_.stopRequested && parts_.stopRequested()) throw StopRequested{};
}

LeaseKeptPerRequest::LeaseKeptPerRequest(StepContext& context, AcmeAccount& account)
    : account_(account), previous_(account.beforeEachRequest()) {
    account.setBeforeEachRequest(
        [&context](std::chrono::milliseconds budget) { context.keepLeaseFor(budget); });
}

LeaseKeptPerRequest::~LeaseKeptPerRequest() { account_.setBeforeEachRequest(previous_); }

const Pkey& StepContext::certificateKey() {
    if (certificateKey_) return certificateKey_;
    if (!order_.certKeyCiphertext) {
        const Pkey key = config().certKeyType == CertKeyType::Rsa2048 ? generateRsaKey(2048)
                                                                      : generateEcdsaP256Key();
        const KeyEncryptor::Sealed sealed = parts_.encryptor.seal(privateKeyToPem(key.get()));
        order_.certKeyCiphertext = write([&](OrderStore& orders) {
            return orders.saveCertKey(order_.id, owner_, sealed.ciphertext, sealed.keyId);
        });
    }
    certificateKey_ = privateKeyFromPem(parts_.encryptor.decrypt(*order_.certKeyCiphertext));
    return certificateKey_;
}

void StepContext::moveTo(OrderStep step) {
    write([&](OrderStore& orders) {
        orders.setStep(order_.id, owner_, step);
        return true;
    });
    order_.step = step;
    // setStep restarted the step's clock in the row; the steps that follow in this turn read it
    // from here (each step has its own POLL_TIMEOUT, not the rest of the previous one's).
    order_.stepAgeMs = 0;
}

void StepContext::restartStepClock() {
    write([&](OrderStore& orders) {
        orders.restartStepClock(order_.id, owner_);
        return true;
    });
    order_.stepAgeMs = 0;
    order_.stepClockRestarted = true;
}

void StepContext::recordPlaced(const PlacedOrder& placed) {
    write([&](OrderStore& orders) {
        orders.recordPlaced(order_.id, owner_, placed);
        return true;
    });
    order_.caDirectory = placed.caDirectory;
}

void StepContext::markPublished(const std::string& authorizationUrl, const std::string& name) {
    write([&](OrderStore& orders) {
        orders.markPublished(order_.id, owner_, authorizationUrl, name);
        return true;
    });
}

void StepContext::recordCheck(const std::string& checkJson,
                              std::optional<std::chrono::milliseconds> nextCheckIn) {
    std::optional<Poco::Int64> nextCheckInMs;
    if (nextCheckIn) nextCheckInMs = nextCheckIn->count();
    write([&](OrderStore& orders) {
        orders.recordCheck(order_.id, owner_, checkJson, nextCheckInMs);
        return true;
    });
}

void StepContext::recordCaaCheck(const std::string& checkJson) {
    write([&](OrderStore& orders) {
        orders.recordCaaCheck(order_.id, owner_, checkJson);
        return true;
    });
}

void StepContext::setDelegationStatus(const std::string& status) {
    write([&](OrderStore& orders) {
        orders.setDelegationStatus(order_.id, owner_, status);
        return true;
    });
}

void StepContext::storeCertificate(const NewCertificate& certificate) {
    write([&](OrderStore& orders) {
        orders.storeCertificate(order_, owner_, certificate);
        return true;
    });
}

int StepContext::recordAttempt() {
    return write([&](OrderStore& orders) { return orders.recordAttempt(order_.id, owner_); });
}

void StepContext::fail(const std::string& reason, FailureCode code,
                       std::chrono::milliseconds renewalRetry,
                       const std::optional<std::string>& lastCheck) {
    write([&](OrderStore& orders) {
        orders.fail(order_, owner_, reason, code, renewalRetry.count(),
                    config().issueRetryBackoff.count(), lastCheck);
        return true;
    });
}

std::string StepContext::replace() {
    return write([&](OrderStore& orders) { return orders.replace(order_, owner_); });
}

}  // namespace dnsh
