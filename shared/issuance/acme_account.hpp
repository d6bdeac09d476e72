#pragma once
// The service's ACME account at one CA (RFC 8555 §7.3): its key (sealed in the database, one
// account per directory URL), the client speaking for it, External Account Binding at
// registration (§7.3.4), and registering again when the CA forgot it. Everything that calls the
// CA goes through `call`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acme/client.hpp"
#include "config/config.hpp"
#include "core/failure_code.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "db/database.hpp"
#include "dns/caa_check.hpp"
#include "domain/domain_repository.hpp"
#include "issuance/order_store.hpp"
#include "issuance/profiles.hpp"
#include "log/log.hpp"

namespace dnsh {

// Who waits on the CA, and so how long one request to it may take: an API handler
// (ACME_HANDLER_TIMEOUT: a client waits, a FastCGI process is held) or a scheduler worker and
// dnsh-admin (ACME_SCHEDULER_TIMEOUT).
enum class CaCaller { Handler, Scheduler };

// The API error_code (README "API") of a CA error: ca_unreachable, ca_rate_limited,
// invalid_profile, ca_account, caa_forbidden (refusedByCaa) or ca_refused.
FailureCode failureCodeOf(const acme::AcmeError& error);

// newAccount refused (RFC 8555 §7.3): a missing or wrong External Account Binding key, terms
// not agreed, ... The CA's problem, with a detail that names the CA (never the key).
class AccountRegistrationError : public acme::AcmeError {
public:
    using acme::AcmeError::AcmeError;
};

// RFC 8657 §4: the CA's authorization for a name offers none of the methods its CAA allows us:
// CAA lists only dns-persist-01 and the authorization has no dns-persist-01 challenge the
// customer's record answers (its issuer-domain-names are not the caaIdentities the precheck
// looked the record up with, or it has none). Not the CA's fault, and the same order would meet
// it again: caa_forbidden, not retried; the next CA is tried, its CAA may allow it.
class CaaMethodRefusal : public acme::AcmeError {
public:
    using acme::AcmeError::AcmeError;
};

// newOrder was answered and what followed failed (an answer refused for its shape, an
// authorization the CA did not give, one without a dns-01 challenge): the CA holds an order
// nobody will use, which it counts against our limits like any other (RFC 8555 §7.4). The cause's
// problem, and the order's authorizations not seen valid, to give back (RFC 8555 §7.5.2): the
// identifier of one not read is "" (not known); none when newOrder's answer was refused (its
// authorizations are not read) or for one that is for none of the order's names.
class OrderAbandonedError : public acme::AcmeError {
public:
    OrderAbandonedError(const acme::AcmeError& cause, std::string orderUrl,
                        std::vector<HeldAuthorization> notValid)
        : acme::AcmeError(cause.problem(), cause.retryAfter(), cause.outcomeUnknown()),
          orderUrl_(std::move(orderUrl)),
          notValid_(std::move(notValid)),
          refusedByCaa_(dynamic_cast<const CaaMethodRefusal*>(&cause) != nullptr) {}
    const std::string& orderUrl() const noexcept { return orderUrl_; }
    const std::vector<HeldAuthorization>& authorizationsNotValid() const noexcept {
        return notValid_;
    }
    // The cause was a CaaMethodRefusal.
    bool refusedByCaa() const noexcept { return refusedByCaa_; }

private:
    std::string orderUrl_;
    std::vector<HeldAuthorization> notValid_;
    bool refusedByCaa_;
};

// A CaaMethodRefusal, or an order abandoned for one: error_code caa_forbidden.
bool refusedByCaa(const acme::AcmeError& error);

// draft-ietf-acme-dns-persist-00 §4.1.2: whether the customer's _validation-persist record of
// `name` ("*.x" for a wildcard's authorization) lets the CA validate it, the CA named by the
// challenge's issuer-domain-names (§3.1), for our account at `accountUrl`. Built where the
// resolver is (issuance/persist_probe.hpp); an empty function asks nothing (dns-01 only).
using PersistRecordUsable =
    std::function<bool(const std::string& name, const std::vector<std::string>& issuerDomains,
                       const std::string& accountUrl)>;

// Which challenge of `authorization` (for `name`, "*.x" for a wildcard's) to answer (RFC 8555
// §7.5: the client picks), of the methods `caa` allows for the name (RFC 8657 §4): its
// dns-persist-01 one when `persistUsable` says the customer's record names one of its
// issuer-domain-names (draft-ietf-acme-dns-persist-00 §3.1) and our account at `accountUrl`, else
// its dns-01 one. CAA allowing dns-persist-01 only and no such challenge: CaaMethodRefusal. No
// dns-01 challenge: an AcmeError (502, the CA's). Asks `persistUsable` whenever the method is
// offered, so checks.persist shows the record even when CAA rules the method out.
const acme::Challenge& chooseChallenge(const acme::Authorization& authorization,
                                       const std::string& name, const std::string& accountUrl,
                                       const PersistRecordUsable& persistUsable,
                                       const CaaCheck& caa);

class AcmeAccount {
public:
    AcmeAccount(Database& database, const Config& config, const CaSettings& ca,
                const KeyEncryptor& encryptor, CaCaller caller);

    // The CA this account is at (its directory URL identifies it).
    const CaSettings& ca() const { return ca_; }

    // `work` with the account in place (created or read on first use); a CA that answers
    // accountDoesNotExist (it restarted) gets the same key registered again, and `work` runs
    // once more.
    template <typename Work>
    auto call(Work&& work) -> decltype(work()) {
        ensure();
        try {
            return work();
        } catch (const acme::AcmeError& e) {
            if (!e.is(acme::ProblemType::kAccountDoesNotExist)) throw;
            // An order the CA already created is not placed a second time on its budget token.
            if (dynamic_cast<const OrderAbandonedError*>(&e) != nullptr) throw;
            logEvent(LogLevel::Warn, "acme account unknown to the CA; registering again");
            reRegister();
            return work();
        }
    }

    // RFC 8555 §7.4: newOrder for the domain's names under `profile` (checked against the
    // directory first, profiles.hpp's requireOfferedNow) and, per authorization, the challenge
    // to answer, of those `caa` (this CA's precheck) allows for its name (RFC 8657 §4): its
    // dns-persist-01 one when it offers it and `persistUsable` says the customer's record
    // allows it, else its dns-01 value; `beforeEachCall` runs before each request (a scheduler
    // keeps its lease). A CA error after newOrder, or an authorization CAA leaves no method
    // for: OrderAbandonedError (the latter refusedByCaa).
    PlacedOrder placeOrder(const std::string& domainName, const std::string& replaces,
                           const OrderProfile& profile, const std::function<void()>& beforeEachCall,
                           const PersistRecordUsable& persistUsable, const CaaCheck& caa);

    // The CA as CAA records name it: its directory's meta.caaIdentities (RFC 8555 §7.1.1) and
    // our account URL at it for accounturi (RFC 8657 §3; the account is registered first when
    // it is new). No identities: nothing else is asked.
    CaaIssuer caaIssuer();
    // False once this process saw the CA's authorization for a name (not a wildcard's) without
    // a usable dns-persist-01 challenge, until one offers it again (notePersistOffer): the CAA
    // precheck then asks no persist record.
    bool persistMayBeOffered() const { return storedOffered_ != false; }

    // Confirms our account with the CA (registered when new or forgotten; confirmAccount) and
    // keeps, for the dns-persist-01 record customers are told to publish
    // (domain/persist_offers.hpp), the CA's issuer domain: its directory's first
    // meta.caaIdentities entry, which a CA offers as the challenge's issuer-domain-names
    // (draft-ietf-acme-dns-persist-00 §3.1), until an authorization offering the method named
    // the challenge's: that one is kept (OrderStore::setDirectoryPersistIssuer). The scheduler
    // calls it at start. False when the directory names no identity (no record can be given).
    bool recordPersistIssuer();

    // RFC 8555 §7.5.2, for orders nobody will finish; a failure is logged, never thrown, but
    // LeaseLost (a scheduler's lease, kept before each request, is gone: another replica owns
    // the order now and may answer the same authorizations).
    void deactivateAuthorizations(const std::vector<std::string>& urls, const LogFields& fields);

    acme::Client& client() { return client_; }
    // What runs before each request to this CA (acme::Transport::setBeforeEachRequest).
    void setBeforeEachRequest(acme::Transport::BeforeRequest hook) {
        transport_.setBeforeEachRequest(std::move(hook));
    }
    const acme::Transport::BeforeRequest& beforeEachRequest() const {
        return transport_.beforeEachRequest();
    }
    // The budget each request to this CA takes its time from (acme::Transport::setCallBudget;
    // nullptr: none).
    void setCallBudget(acme::CallBudget* budget) { transport_.setCallBudget(budget); }
    acme::CallBudget* callBudget() const { return transport_.callBudget(); }
    // The longest one request to this CA may take (ACME_HANDLER_TIMEOUT or
    // ACME_SCHEDULER_TIMEOUT, by the caller).
    std::chrono::milliseconds requestTimeout() const { return transport_.timeout(); }
    // Requests sent so far (for the timing fields of a log line).
    std::uint64_t requestCount() const { return transport_.requestCount(); }

private:
    // The key read (or made) and the stored account used; registered when no URL is stored.
    // Whether it registered the account just now. A registration that throws leaves no key
    // held: the next call reads the row again.
    bool ensure();
    // newAccount with External Account Binding when the CA wants it (RFC 8555 §7.3.4): for a key
    // with no account stored, or one the CA forgot (accountDoesNotExist).
    void reRegister();
    // After newAccount with a binding was refused with a 4xx that will not change (a concurrent
    // process bound the key first) or its answer was lost: our account's URL when the CA knows
    // the key (onlyReturnExisting, RFC 8555 §7.3.1), else nothing. Nothing asked without a
    // binding.
    std::optional<std::string> boundMeanwhile(const acme::AcmeError& refusal);
    // newAccount's refusal `e`, naming the CA and the binding's key id (never its HMAC key).
    AccountRegistrationError registrationRefusal(const acme::AcmeError& e) const;
    // RFC 8555 §7.3.1: the stored account confirmed with {"onlyReturnExisting": true} and no
    // binding (a CA that bound it already refuses a second: Sectigo/ZeroSSL's 400 "The account
    // is not awaiting external account binding"); registered again only on accountDoesNotExist.
    // Another 4xx keeps the stored URL (logged); not reached or a 5xx throws.
    void confirmAccount();
    // The challenge to answer of one authorization that is not valid yet, for `name` ("*.x" for
    // a wildcard's): chooseChallenge's, as an order keeps it.
    OrderChallenge challengeToAnswer(const acme::Authorization& authorization,
                                     const std::string& name, const std::string& domainName,
                                     const PersistRecordUsable& persistUsable,
                                     const CaaCheck& caa);
    // After `error` following newOrder: the order logged; what to throw, naming its
    // authorizations to give back: all but `keptAuthorizations` (seen valid, or for another
    // name); `placed`'s challenges are those read so far.
    OrderAbandonedError abandoned(const acme::Order& order, const PlacedOrder& placed,
                                  const std::vector<std::string>& keptAuthorizations,
                                  const acme::AcmeError& error);
    // Keeps what an authorization showed: whether it offered dns-persist-01, and its issuer. A
    // wildcard's authorization without the method shows nothing (CAs offer wildcards less).
    void notePersistOffer(const acme::Authorization& authorization);
    void storePersistIssuer(const std::string& issuer, std::optional<bool> offered);

    Database& database_;
    const Config& config_;
    const CaSettings& ca_;
    const KeyEncryptor& encryptor_;
    acme::Transport transport_;
    acme::Client client_;
    Pkey key_;
    Poco::Int64 id_ = 0;
    // What this process stored last (each is written again only when it changes).
    std::optional<std::string> storedIssuer_;
    std::optional<bool> storedOffered_;
};

}  // namespace dnsh
