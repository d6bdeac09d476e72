#include "issuance/issuer.hpp"

#include <algorithm>

#include "acme/jws.hpp"
#include "config/duration.hpp"
#include "core/error.hpp"
#include "crypto/certificate.hpp"
#include "crypto/random.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_service.hpp"
#include "issuance/backoff.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr std::chrono::milliseconds kCaPollDelay{250};
constexpr std::chrono::milliseconds kAcmeTimeout{30'000};
// Orders a domain may go through (replacements after a CA forgot one) before it fails.
constexpr int kMaxOrdersPerDomain = 3;

Error badGateway(const acme::AcmeError& e) {
    return Error(ErrorCode::BadGateway,
                 e.unreachable() ? std::string("ACME CA unreachable: ") + e.problem().detail
                                 : std::string("ACME CA refused: ") + e.problem().detail);
}

const acme::Challenge* findDns01(const acme::Authorization& authorization) {
    for (const auto& challenge : authorization.challenges)
        if (challenge.type == "dns-01") return &challenge;
    return nullptr;
}

}  // namespace

KeyEncryptor loadKeyEncryptor(const Config& config) {
    if (config.keyEncryptionKeyFile.empty())
        throw ConfigError(
            "KEY_ENCRYPTION_KEY_FILE is not set: it names the key that encrypts "
            "private keys at rest (create one with: openssl rand -hex 32 > FILE)");
    return KeyEncryptor::fromFile(config.keyEncryptionKeyFile);
}

Issuer::Issuer(Database& database, const Config& config, const DnsResolver& resolver)
    : database_(database),
      config_(config),
      resolver_(resolver),
      encryptor_(loadKeyEncryptor(config)),
      transport_(config.acmeCaBundle, kAcmeTimeout),
      client_(transport_, config.acmeDirectory) {}

void Issuer::ensureAccount() {
    if (accountKey_) return;
    // One account per directory URL, created once even when many processes ask at once: the
    // unique directory_url decides whose key wins, and everyone uses the winner's.
    auto stored = database_.withSession([&](Poco::Data::Session& session) {
        OrderStore store(session);
        if (auto found = store.findAccount(config_.acmeDirectory)) return *found;
        const Pkey key = generateEcdsaP256Key();
        return store.insertAccount(config_.acmeDirectory,
                                   encryptor_.encrypt(privateKeyToPem(key.get())),
                                   encryptor_.keyId(), config_.acmeEmail);
    });
    accountKey_ = privateKeyFromPem(encryptor_.decrypt(stored.keyCiphertext));
    accountId_ = stored.id;
    if (stored.accountUrl) {
        client_.useAccount(accountKey_.get(), *stored.accountUrl);
    } else {
        reRegister();
    }
}

void Issuer::reRegister() {
    // newAccount with a known key returns the existing account (RFC 8555 §7.3.1), so racing
    // processes end with the same URL.
    const std::string url = client_.newAccount(accountKey_.get(), config_.acmeEmail);
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).setAccountUrl(accountId_, url);
        return true;
    });
    logEvent(LogLevel::Info, "acme account registered", {{"account_url", url}});
}

template <typename Call>
auto Issuer::withAccount(Call&& call) -> decltype(call()) {
    ensureAccount();
    try {
        return call();
    } catch (const acme::AcmeError& e) {
        // A CA that forgot us (Pebble restarted): register the same key again, once.
        if (!e.is(acme::ProblemType::kAccountDoesNotExist)) throw;
        logEvent(LogLevel::Warn, "acme account unknown to the CA; registering again");
        reRegister();
        return call();
    }
}

NewOrderRow Issuer::placeOrder(const std::string& domainId, const std::string& domainName) {
    return withAccount([&] {
        const acme::Order order = client_.newOrder({domainName});
        if (order.authorizations.empty())
            throw acme::AcmeError(acme::Problem{"", "order without authorizations", 502});
        const acme::Authorization authorization = client_.getAuthorization(order.authorizations[0]);
        NewOrderRow row;
        row.id = randomHex(16);
        row.domainId = domainId;
        row.accountId = accountId_;
        row.orderUrl = order.url;
        row.finalizeUrl = order.finalize;
        row.expires = order.expires;
        // An authorization the CA already holds as valid needs no challenge (RFC 8555 §7.1.4).
        row.step = authorization.status == "valid" ? "finalize" : "await_dns";
        if (authorization.status != "valid") {
            const acme::Challenge* challenge = findDns01(authorization);
            if (challenge == nullptr)
                throw acme::AcmeError(acme::Problem{"", "the CA offers no dns-01 challenge", 502});
            row.authorizationUrl = authorization.url;
            row.challengeUrl = challenge->url;
            row.token = challenge->token;
            row.txtName = challengeName(domainName);
            row.txtValue = acme::dns01TxtValue(
                acme::keyAuthorization(challenge->token, acme::jwkThumbprint(accountKey_.get())));
        }
        return row;
    });
}

StartedIssuance Issuer::start(const std::string& domainId) {
    const Domain domain = findDomain(database_, domainId);
    auto notVerified = [](DomainStatus status) {
        return Error(ErrorCode::BadRequest, "domain must be verified first, current status: " +
                                                std::string(toString(status)));
    };
    if (domain.status != DomainStatus::Verified) throw notVerified(domain.status);
    NewOrderRow row;
    try {
        row = placeOrder(domain.id, domain.domainName);
    } catch (const acme::AcmeError& e) {
        logEvent(LogLevel::Warn, "acme order failed",
                 {{"domain_id", domain.id}, {"detail", errorDetail(e)}});
        throw badGateway(e);
    }
    const bool created = database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).createOrder(row, "verified");
    });
    // A concurrent call won the compare-and-set; the order we placed is simply never used.
    if (!created) throw notVerified(findDomain(database_, domainId).status);
    logEvent(LogLevel::Info, "certificate order created",
             {{"domain_id", domain.id}, {"order_id", row.id}, {"step", row.step}});
    return StartedIssuance{row.id, row.txtName.value_or(challengeName(domain.domainName)),
                           row.txtValue.value_or("")};
}

StepOutcome Issuer::fail(const std::string& domainId, const std::optional<std::string>& orderId,
                         const std::string& reason, const std::string& leaseOwner) {
    database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).fail(domainId, orderId, reason, leaseOwner);
    });
    logEvent(LogLevel::Warn, "certificate issuance failed",
             {{"domain_id", domainId}, {"reason", reason}});
    return StepOutcome{true, {}, "failed"};
}

StepOutcome Issuer::advance(const std::string& domainId, const std::string& leaseOwner) {
    auto order = database_.withSession(
        [&](Poco::Data::Session& session) { return OrderStore(session).liveOrder(domainId); });
    try {
        // No live order: the handler died between the CA and the database. Place it ourselves.
        if (!order) return replaceOrder(domainId, "repair_order");
        // An order past the CA's expiry cannot be finished: a fresh one, not a reused one.
        if (order->expired) {
            if (ordersOf(domainId) >= kMaxOrdersPerDomain)
                return fail(domainId, order->id, "the ACME order expired", leaseOwner);
            return replaceOrder(domainId, "replace_expired_order");
        }
        return step(*order, leaseOwner);
    } catch (const acme::AcmeError& e) {
        // The CA no longer knows the order (restarted, purged): a fresh one, never a loop.
        if (order && e.problem().status == 404) {
            if (ordersOf(domainId) < kMaxOrdersPerDomain) {
                logEvent(
                    LogLevel::Warn, "acme order unknown to the CA; placing a new one",
                    {{"domain_id", domainId}, {"order_id", order->id}, {"detail", errorDetail(e)}});
                return replaceOrder(domainId, "replace_order");
            }
        }
        const std::string reason = e.what();
        const bool pastPollTimeout = order && order->ageMs > config_.pollTimeout.count();
        if (e.retryable() && !pastPollTimeout) {
            // Backoff in database time: the delay becomes the domain's next_attempt_at.
            const int retries =
                !order ? 1 : database_.withSession([&](Poco::Data::Session& session) {
                    return OrderStore(session).recordRetry(order->id);
                });
            const auto delay = retryDelay(config_.pollInterval, retries, e.retryAfter());
            logEvent(LogLevel::Warn, "acme step will be retried",
                     {{"domain_id", domainId},
                      {"detail", reason},
                      {"retries", retries},
                      {"delay_ms", delay.count()}});
            return StepOutcome{false, delay, order ? order->step : "order"};
        }
        return fail(domainId, order ? std::optional(order->id) : std::nullopt, reason, leaseOwner);
    }
}

int Issuer::ordersOf(const std::string& domainId) {
    return database_.withSession(
        [&](Poco::Data::Session& session) { return OrderStore(session).orderCount(domainId); });
}

StepOutcome Issuer::replaceOrder(const std::string& domainId, const std::string& stepName) {
    const Domain domain = findDomain(database_, domainId);
    NewOrderRow row = placeOrder(domain.id, domain.domainName);
    database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).createOrder(row, "certificate_pending");
    });
    logEvent(LogLevel::Info, "certificate order created",
             {{"domain_id", domainId}, {"order_id", row.id}, {"step", stepName}});
    return StepOutcome{false, {}, stepName};
}

StepOutcome Issuer::step(StoredOrder& order, const std::string& leaseOwner) {
    if (order.step == "await_dns") return awaitDns(order, leaseOwner);
    if (order.step == "await_authz") return awaitAuthorization(order, leaseOwner);
    if (order.step == "finalize") return finalize(order, leaseOwner);
    if (order.step == "await_order") return awaitOrder(order, leaseOwner);
    return fail(order.domainId, order.id, "unknown order step " + order.step, leaseOwner);
}

StepOutcome Issuer::awaitDns(StoredOrder& order, const std::string& leaseOwner) {
    if (!order.txtName || !order.txtValue || !order.challengeUrl)
        return fail(order.domainId, order.id, "order has no dns-01 challenge", leaseOwner);
    const TxtLookup lookup = resolver_.lookupTxt(*order.txtName);
    if (lookup.outcome != LookupOutcome::Found ||
        !txtValuesContain(lookup.values, *order.txtValue)) {
        if (order.ageMs >= config_.pollTimeout.count())
            return fail(order.domainId, order.id,
                        "TXT record " + *order.txtName +
                            " with the expected value not visible within " +
                            formatDuration(config_.pollTimeout) +
                            " (last lookup: " + std::string(toString(lookup.outcome)) + ")",
                        leaseOwner);
        return StepOutcome{false, config_.pollInterval, "await_dns"};
    }
    // Pebble (and real CAs) mark the authorization invalid on one failed lookup, so answer the
    // challenge only once our own lookup sees the value (RFC 8555 §8.2 retries are optional).
    withAccount([&] { return client_.respondChallenge(*order.challengeUrl); });
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).setStep(order.id, "await_authz");
        return true;
    });
    return StepOutcome{false, kCaPollDelay, "answered_challenge"};
}

StepOutcome Issuer::awaitAuthorization(StoredOrder& order, const std::string& leaseOwner) {
    const acme::Authorization authorization =
        withAccount([&] { return client_.getAuthorization(*order.authorizationUrl); });
    if (authorization.status == "valid") {
        database_.withSession([&](Poco::Data::Session& session) {
            OrderStore(session).setStep(order.id, "finalize");
            return true;
        });
        order.step = "finalize";
        return finalize(order, leaseOwner);
    }
    if (authorization.status == "pending" || authorization.status == "processing")
        return StepOutcome{false, kCaPollDelay, "await_authz"};
    return fail(order.domainId, order.id,
                "the CA rejected the dns-01 challenge: " +
                    (authorization.error.empty() ? authorization.status : authorization.error),
                leaseOwner);
}

Pkey Issuer::certificateKey(StoredOrder& order) {
    if (!order.certKeyCiphertext) {
        // Generated and persisted before finalize: a restart reuses it, so the certificate the CA
        // issues always matches a key we hold.
        const Pkey key = config_.certKeyType == CertKeyType::Rsa2048 ? generateRsaKey(2048)
                                                                     : generateEcdsaP256Key();
        const std::string sealed = encryptor_.encrypt(privateKeyToPem(key.get()));
        order.certKeyCiphertext = database_.withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).saveCertKey(order.id, sealed, encryptor_.keyId());
        });
    }
    return privateKeyFromPem(encryptor_.decrypt(*order.certKeyCiphertext));
}

StepOutcome Issuer::finalize(StoredOrder& order, const std::string& leaseOwner) {
    const Pkey key = certificateKey(order);
    const acme::Order current = withAccount([&] { return client_.getOrder(order.orderUrl); });
    if (current.status == "ready") {
        withAccount(
            [&] { return client_.finalize(current, makeCsrDer(key.get(), order.domainName)); });
    } else if (current.status == "invalid") {
        return fail(order.domainId, order.id, "the CA marked the order invalid: " + current.error,
                    leaseOwner);
    } else if (current.status == "pending") {
        return StepOutcome{false, kCaPollDelay, "finalize"};
    }
    // "processing" or "valid": finalize already happened (before a restart).
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).setStep(order.id, "await_order");
        return true;
    });
    order.step = "await_order";
    return awaitOrder(order, leaseOwner);
}

StepOutcome Issuer::awaitOrder(StoredOrder& order, const std::string& leaseOwner) {
    const acme::Order current = withAccount([&] { return client_.getOrder(order.orderUrl); });
    if (current.status == "processing") return StepOutcome{false, kCaPollDelay, "await_order"};
    if (current.status != "valid" || current.certificate.empty())
        return fail(order.domainId, order.id,
                    "the CA did not issue: order " + current.status +
                        (current.error.empty() ? "" : ": " + current.error),
                    leaseOwner);
    const std::string chain =
        withAccount([&] { return client_.downloadCertificate(current.certificate); });
    const IssuedCertificate issued = parseCertificateChain(chain);
    const Pkey key = certificateKey(order);
    if (!certificateMatchesKey(issued.leafPem, key.get()))
        return fail(order.domainId, order.id, "the issued certificate does not match our key",
                    leaseOwner);
    const bool stored = database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).storeCertificate(
            order, randomHex(16), issued.leafPem, issued.chainPem, *order.certKeyCiphertext,
            encryptor_.keyId(), issued.notBefore, issued.notAfter, leaseOwner);
    });
    if (stored)
        logEvent(LogLevel::Info, "certificate stored",
                 {{"domain_id", order.domainId},
                  {"order_id", order.id},
                  {"expires_at", issued.notAfter}});
    return StepOutcome{true, {}, "active"};
}

}  // namespace dnsh
