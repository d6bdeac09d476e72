#include "issuance/acme_account.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "acme/jws.hpp"
#include "core/error.hpp"
#include "core/shown_text.hpp"
#include "dns/persist_record.hpp"
#include "domain/domain_name.hpp"

namespace dnsh {

namespace {

// How long a registration that lost a race with another process waits before it asks again.
constexpr std::chrono::milliseconds kRegisterAgainAfter{250};

}  // namespace

bool refusedByCaa(const acme::AcmeError& error) {
    if (dynamic_cast<const CaaMethodRefusal*>(&error) != nullptr) return true;
    const auto* abandoned = dynamic_cast<const OrderAbandonedError*>(&error);
    return abandoned != nullptr && abandoned->refusedByCaa();
}

FailureCode failureCodeOf(const acme::AcmeError& error) {
    if (refusedByCaa(error)) return FailureCode::CaaForbidden;
    if (error.unreachable()) return FailureCode::CaUnreachable;
    if (error.is(acme::ProblemType::kRateLimited)) return FailureCode::CaRateLimited;
    if (error.is(acme::ProblemType::kInvalidProfile)) return FailureCode::InvalidProfile;
    if (dynamic_cast<const AccountRegistrationError*>(&error) != nullptr)
        return FailureCode::CaAccount;
    return FailureCode::CaRefused;
}

AcmeAccount::AcmeAccount(Database& database, const Config& config, const CaSettings& ca,
                         const KeyEncryptor& encryptor, CaCaller caller)
    : database_(database),
      config_(config),
      ca_(ca),
      encryptor_(encryptor),
      transport_(ca.caBundle, caller == CaCaller::Handler ? config.acmeHandlerTimeout
                                                          : config.acmeSchedulerTimeout),
      client_(transport_, ca.directoryUrl, config.acmeDirectoryLifetime) {}

bool AcmeAccount::ensure() {
    if (key_) return false;
    // One account per directory URL, created once even when many processes ask at once: the
    // unique directory_url decides whose key wins, and everyone uses the winner's.
    const StoredAccount stored = database_.withSession([&](Poco::Data::Session& session) {
        OrderStore orders(session);
        if (auto found = orders.findAccount(ca_.directoryUrl)) return *found;
        const Pkey key = generateEcdsaP256Key();
        const KeyEncryptor::Sealed sealed = encryptor_.seal(privateKeyToPem(key.get()));
        return orders.insertAccount(ca_.directoryUrl, sealed.ciphertext, sealed.keyId,
                                    config_.acmeEmail);
    });
    key_ = privateKeyFromPem(encryptor_.decrypt(stored.keyCiphertext));
    id_ = stored.id;
    if (stored.accountUrl) {
        client_.useAccount(key_.get(), *stored.accountUrl);
        return false;
    }
    try {
        reRegister();
    } catch (...) {
        // The next call reads the row again and registers, or takes the URL a concurrent
        // process stored. newAccount may have put the key in the client before the URL failed
        // to be stored: cleared with it, so no pointer to the freed key remains there.
        client_.useAccount(nullptr, "");
        key_.reset();
        throw;
    }
    return true;
}

void AcmeAccount::reRegister() {
    // newAccount with a known key returns the existing account (RFC 8555 §7.3.1), so racing
    // processes end with the same URL. With External Account Binding only while the CA has not
    // bound the key yet: Sectigo/ZeroSSL refuse a second binding (confirmAccount).
    std::string url;
    try {
        try {
            url = client_.newAccount(key_.get(), config_.acmeEmail, ca_.externalAccount);
        } catch (const acme::AcmeError& e) {
            // Several processes registering the same new key at once: a CA may fail all but one
            // with a 5xx (Pebble: "Error saving account"). Once more, a moment later, finds the
            // account the winner created.
            if (e.unreachable() || !e.retryable() || e.is(acme::ProblemType::kRateLimited)) throw;
            std::this_thread::sleep_for(kRegisterAgainAfter);
            url = client_.newAccount(key_.get(), config_.acmeEmail, ca_.externalAccount);
        }
    } catch (const acme::AcmeError& e) {
        // RFC 8555 §7.3.4: a binding refused because a concurrent process bound the key first
        // (Sectigo/ZeroSSL: "not awaiting external account binding"), or whose answer was
        // lost, may have made the account: found without a binding, it is ours.
        const std::optional<std::string> found = boundMeanwhile(e);
        if (!found) {
            if (e.unreachable() || e.retryable()) throw;
            throw registrationRefusal(e);
        }
        url = *found;
    }
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).setAccountUrl(id_, url);
        return true;
    });
    logEvent(LogLevel::Info, "acme account registered",
             {{"account_url", url}, {"ca", ca_.directoryUrl}});
}

std::optional<std::string> AcmeAccount::boundMeanwhile(const acme::AcmeError& refusal) {
    // Only a binding can have been made: at a CA without one, newAccount with a known key
    // answers the account itself (RFC 8555 §7.3.1).
    if (!ca_.externalAccount) return std::nullopt;
    const int status = refusal.problem().status;
    const bool refused = status >= 400 && status < 500 && !refusal.retryable();
    if (!refused && !refusal.outcomeUnknown()) return std::nullopt;
    try {
        return client_.existingAccount(key_.get());
    } catch (const acme::AcmeError& e) {
        // accountDoesNotExist: not bound; anything else says no more. The binding's answer is
        // the one to give.
        logEvent(LogLevel::Info, "acme account not found after its binding failed",
                 {{"ca", ca_.directoryUrl}, {"detail", errorDetail(e)}});
        return std::nullopt;
    }
}

AccountRegistrationError AcmeAccount::registrationRefusal(const acme::AcmeError& e) const {
    // A refusal the next attempt would meet again: the operator has to act (README "Several
    // CAs"); the key id may be named, the HMAC key never.
    std::string detail = "the CA " + ca_.directoryUrl + " refused our account";
    if (ca_.externalAccount)
        detail += " (External Account Binding key id " + ca_.externalAccount->keyId + ")";
    return AccountRegistrationError(
        acme::Problem{e.problem().type, detail + ": " + e.problem().detail, e.problem().status});
}

void AcmeAccount::confirmAccount() {
    const std::string stored = client_.accountUrl();
    std::string url;
    try {
        url = client_.existingAccount(key_.get());
    } catch (const acme::AcmeError& e) {
        if (e.is(acme::ProblemType::kAccountDoesNotExist)) {
            // The CA forgot it (a sandbox CA restarted): a new account, bound again.
            reRegister();
            return;
        }
        // A refusal that is not §7.3.1's answer (a CA wanting a binding on every newAccount,
        // say: Sectigo's is not documented): the stored URL came from this CA, which gives it
        // once, so it stands. Not reached, or a 5xx: asked again later.
        const int status = e.problem().status;
        if (e.unreachable() || status < 400 || status >= 500) throw;
        logEvent(LogLevel::Warn, "acme account not confirmed; the stored URL is kept",
                 {{"account_url", stored}, {"ca", ca_.directoryUrl}, {"detail", errorDetail(e)}});
        return;
    }
    if (url != stored)
        database_.withSession([&](Poco::Data::Session& session) {
            OrderStore(session).setAccountUrl(id_, url);
            return true;
        });
    logEvent(LogLevel::Info, "acme account confirmed",
             {{"account_url", url}, {"ca", ca_.directoryUrl}});
}

PlacedOrder AcmeAccount::placeOrder(const std::string& domainName, const std::string& replaces,
                                    const OrderProfile& profile,
                                    const std::function<void()>& beforeEachCall,
                                    const PersistRecordUsable& persistUsable,
                                    const CaaCheck& caa) {
    return call([&] {
        beforeEachCall();
        requireOfferedNow(client_, profile);
        acme::Order order;
        try {
            order = client_.newOrder(certificateNames(domainName), replaces, profile.name);
        } catch (const acme::OrderAnswerRefused& e) {
            // The CA created it and its answer was refused: held, counted, none of its
            // authorizations read, so none is given back (their URLs were not taken).
            acme::Order refused;
            refused.url = e.orderUrl();
            throw abandoned(refused, {}, {}, e);
        }
        // From here on the CA holds the order: a CA error is an OrderAbandonedError.
        PlacedOrder placed;
        // Those not to give back: valid ones (reused, RFC 8555 §7.1.4) and one for a name that
        // is none of the order's (another domain's, perhaps: not ours to deactivate).
        std::vector<std::string> kept;
        try {
            if (order.authorizations.empty())
                throw acme::AcmeError(acme::Problem{"", "order without authorizations", 502});
            placed.accountId = id_;
            placed.caDirectory = ca_.directoryUrl;
            placed.orderUrl = order.url;
            placed.finalizeUrl = order.finalize;
            if (order.expires)
                placed.expiresEpochMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                            order.expires->time_since_epoch())
                                            .count();
            placed.profile = profile.name;
            for (const auto& url : order.authorizations) {
                beforeEachCall();
                const acme::Authorization authorization = client_.getAuthorization(url);
                // RFC 8555 §7.1.4: the order's authorizations are for its identifiers; one for
                // another name is not ours to answer, store, name in the domain's records or
                // deactivate (a CA reuses a valid one for any order of the account and name).
                if (!acme::authorizesIdentifierOf(authorization, order)) {
                    kept.push_back(url);
                    throw acme::AcmeError(acme::Problem{
                        "",
                        "the CA's authorization " +
                            shownText(url, acme::kMaxProblemInstanceBytes) + " is for " +
                            shownText(authorization.identifier, acme::kMaxIdentifierBytes) +
                            ", none of the order's identifiers (RFC 8555 §7.1.4)",
                        502});
                }
                // An authorization the CA already holds as valid needs no record (RFC 8555
                // §7.1.4).
                if (authorization.status == acme::AuthorizationStatus::Valid) {
                    kept.push_back(url);
                    continue;
                }
                // RFC 8555 §7.1.4: a wildcard's authorization names the base name.
                const std::string name =
                    (authorization.wildcard ? "*." : "") + authorization.identifier;
                placed.challenges.push_back(
                    challengeToAnswer(authorization, name, domainName, persistUsable, caa));
            }
            return placed;
        } catch (const acme::AcmeError& e) {
            throw abandoned(order, placed, kept, e);
        }
    });
}

OrderChallenge AcmeAccount::challengeToAnswer(const acme::Authorization& authorization,
                                              const std::string& name,
                                              const std::string& domainName,
                                              const PersistRecordUsable& persistUsable,
                                              const CaaCheck& caa) {
    notePersistOffer(authorization);
    const acme::Challenge& challenge =
        chooseChallenge(authorization, name, client_.accountUrl(), persistUsable, caa);
    if (challenge.type == toString(ChallengeMethod::DnsPersist01))
        return OrderChallenge{authorization.url, challenge.url, challenge.token,
                              persistRecordName(name), "", "", ChallengeMethod::DnsPersist01,
                              name};
    const std::string thumbprint = acme::jwkThumbprint(key_.get());
    return OrderChallenge{
        authorization.url, challenge.url, challenge.token, challengeName(domainName),
        acme::dns01TxtValue(acme::keyAuthorization(challenge.token, thumbprint)), "",
        ChallengeMethod::Dns01, name};
}

OrderAbandonedError AcmeAccount::abandoned(const acme::Order& order, const PlacedOrder& placed,
                                           const std::vector<std::string>& keptAuthorizations,
                                           const acme::AcmeError& error) {
    logEvent(LogLevel::Warn, "acme order abandoned after newOrder",
             {{"ca", ca_.directoryUrl}, {"order_url", order.url}, {"detail", errorDetail(error)}});
    // Those read name their identifier; the one that failed and those never read do not: who
    // else needs them is then judged by every name of the certificate.
    std::vector<HeldAuthorization> notValid;
    for (const auto& url : order.authorizations) {
        if (std::find(keptAuthorizations.begin(), keptAuthorizations.end(), url) !=
            keptAuthorizations.end())
            continue;
        const auto answered = std::find_if(
            placed.challenges.begin(), placed.challenges.end(),
            [&](const OrderChallenge& challenge) { return challenge.authorizationUrl == url; });
        notValid.push_back(HeldAuthorization{
            url, answered == placed.challenges.end() ? "" : answered->identifier});
    }
    return OrderAbandonedError(error, order.url, std::move(notValid));
}

void AcmeAccount::deactivateAuthorizations(const std::vector<std::string>& urls,
                                           const LogFields& fields) {
    for (const auto& url : urls) {
        try {
            call([&] {
                client_.deactivateAuthorization(url);
                return true;
            });
        } catch (const acme::AcmeError& e) {
            LogFields failed = fields;
            failed.push_back({"detail", errorDetail(e)});
            logEvent(LogLevel::Warn, "authorization not deactivated", failed);
            // A CA that did not answer one will not answer the next within the client's wait.
            if (e.unreachable()) break;
        } catch (const LeaseLost&) {
            throw;
        } catch (const std::exception& e) {
            LogFields failed = fields;
            failed.push_back({"detail", errorDetail(e)});
            logEvent(LogLevel::Warn, "authorization not deactivated", failed);
        }
    }
}

}  // namespace dnsh
