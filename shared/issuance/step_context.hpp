#pragma once
// What a step of a claimed order works with: the claim (the order and its lease), CA calls made
// while holding the lease, and the order's writes, every one lease-guarded (LeaseLost when
// another replica owns the order now). And the points where a step may stop unfinished once the
// scheduler is stopping (StopRequested).
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/failure_code.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "issuance/ca_accounts.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

class ChallengePublishers;

// What the steps and the order runner share; owned by the Issuer.
struct EngineParts {
    Database& database;
    const Config& config;
    const DnsResolver& resolver;
    const KeyEncryptor& encryptor;
    CaAccounts& cas;
    ChallengePublishers& publishers;
    // Whether the process is stopping (SIGTERM): the scheduler worker's own flag; none outside
    // the scheduler (handlers, dnsh-admin), whose steps never stop halfway.
    std::function<bool()> stopRequested;
};

// Thrown at a step's stop point (StepContext::stopPoint) once the process is stopping: the
// runner gives the order back, due at once, no attempt counted (README "Stopping"). No
// std::exception: nothing on the way takes it for an error of the order.
struct StopRequested {};

// Thrown where a step needs a setting this replica lacks and another may have: replicas run
// with different configuration for a while (restarted one at a time to add a CA to ACME_CAS,
// or to turn DELEGATION_ZONE on). Not the order's own error: the runner retries it with the
// backoff of a CA that did not answer, for a replica that has the setting to take it meanwhile
// (order_runner.cpp, leftForAnotherReplica). No std::exception, as StopRequested.
struct NotConfiguredHere {
    // The order's error_code and reason, should no replica have it: "<reason>: <remedy>".
    FailureCode code;
    std::string reason;
    std::string remedy;
};

// The order's identity for log lines: domain_id, order_id, kind.
LogFields orderFields(const StoredOrder& order);

class StepContext;

// While it lives, each request to `account`'s CA starts with the lease kept for that request's
// whole budget (StepContext::keepLeaseFor). One CA call may send several requests, each allowed
// the whole ACME_SCHEDULER_TIMEOUT: a fresh nonce, badNonce retries (RFC 8555 §6.5), the
// directory read again. Extending only before the call let a slow chain of them outlast the
// lease, and a second replica claim the order and send the same finalize. The hook before it
// is put back at the end.
class LeaseKeptPerRequest {
public:
    LeaseKeptPerRequest(StepContext& context, AcmeAccount& account);
    ~LeaseKeptPerRequest();
    LeaseKeptPerRequest(const LeaseKeptPerRequest&) = delete;
    LeaseKeptPerRequest& operator=(const LeaseKeptPerRequest&) = delete;

private:
    AcmeAccount& account_;
    acme::Transport::BeforeRequest previous_;
};

class StepContext {
public:
    // Loads the order `owner` claimed at `claimedAt` (LeaseLost when it is not ours).
    StepContext(EngineParts& parts, const std::string& orderId, const std::string& owner,
                std::chrono::steady_clock::time_point claimedAt);

    EngineParts& parts() { return parts_; }
    const Config& config() const { return parts_.config; }
    StoredOrder& order() { return order_; }
    const std::string& owner() const { return owner_; }

    // A stop point, then the lease extended (LeaseLost when it is gone), so a step that chains
    // several slow CA calls or DNS lookups never outlives it unnoticed, and the scheduler's stop
    // waits for none of them but the one under way. One UPDATE by the order's id.
    void keepLease();
    // Extends the lease when less than twice `budget` is left of it: something that may take
    // `budget` (a CA request, a DNS precheck) ends with the lease still ours, and so does the
    // write after it. No stop point: it runs between the requests of one CA call.
    void keepLeaseFor(std::chrono::milliseconds budget);
    // Throws StopRequested when the process is stopping, unless a StopsHeld lives: where the
    // step has nothing under way that must be finished or written down first.
    void stopPoint();
    // While it lives, the step's stop points let it go on: from newOrder until the order is
    // recorded (recordPlaced), as an order the CA holds must be stored before the step ends.
    class StopsHeld {
    public:
        explicit StopsHeld(StepContext& context) : context_(context) { ++context_.stopsHeld_; }
        ~StopsHeld() { --context_.stopsHeld_; }
        StopsHeld(const StopsHeld&) = delete;
        StopsHeld& operator=(const StopsHeld&) = delete;

    private:
        StepContext& context_;
    };
    // A CA call made while holding the lease: a stop point and the lease extended first
    // (keepLease), and the lease again before any of the call's requests that could outlast it
    // (LeaseKeptPerRequest).
    template <typename Call>
    auto ca(Call&& call) -> decltype(call()) {
        keepLease();
        AcmeAccount& at = account();
        const LeaseKeptPerRequest kept(*this, at);
        return at.call(std::forward<Call>(call));
    }
    acme::Client& client() { return account().client(); }
    // Our account at the CA the order was placed with (its first CA before it is placed).
    // NotConfiguredHere when that CA is not in this replica's ACME_CAS.
    AcmeAccount& account();

    // The certificate key, generated and persisted on first use (a restart reuses it, so the
    // certificate the CA issues always matches a key we hold); opened once per claim.
    const Pkey& certificateKey();

    // --- The order's writes, each lease-guarded.
    void moveTo(OrderStep step);
    // POLL_TIMEOUT starts again in the current step.
    void restartStepClock();
    void recordPlaced(const PlacedOrder& placed);
    void markPublished(const std::string& authorizationUrl, const std::string& name);
    // The check's next_check_at `nextCheckIn` after its checked_at (OrderStore::recordCheck).
    void recordCheck(const std::string& checkJson,
                     std::optional<std::chrono::milliseconds> nextCheckIn);
    void recordCaaCheck(const std::string& checkJson);
    void setDelegationStatus(const std::string& status);
    void storeCertificate(const NewCertificate& certificate);

private:
    // The order runner's writes: a step returns a verdict instead (step_result.hpp).
    friend class OrderSettlement;
    int recordAttempt();
    // `lastCheck`: the domain's check that led to it, recorded with the failure.
    void fail(const std::string& reason, FailureCode code, std::chrono::milliseconds renewalRetry,
              const std::optional<std::string>& lastCheck);
    std::string replace();

    void extendLease();

    template <typename Write>
    auto write(Write&& work) {
        return parts_.database.withSession([&](Poco::Data::Session& session) {
            OrderStore orders(session);
            return work(orders);
        });
    }

    EngineParts& parts_;
    std::string owner_;
    // Until when the lease is surely ours (this process's clock, from the claim or the last
    // extension).
    std::chrono::steady_clock::time_point leaseUntil_;
    StoredOrder order_;
    Pkey certificateKey_;
    int stopsHeld_ = 0;  // StopsHeld alive
};

}  // namespace dnsh
