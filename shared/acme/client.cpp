#include "acme/client.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <stdexcept>

#include <Poco/JSON/Parser.h>

#include "acme/ca_strings.hpp"
#include "acme/client_answers.hpp"
#include "acme/jws.hpp"
#include "acme/problem.hpp"
#include "config/profile_name.hpp"
#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

using client_answers::protocolError;
using client_answers::requireCaUrl;
using client_answers::stringify;
using client_answers::text;

// RFC 8659 §4.2: an issuer-domain-name is labels of letters, digits and '-', joined by '.'.
bool issuerDomainNameShape(const std::string& name) {
    return !name.empty() && name.size() <= kMaxCaaIdentityBytes &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '.';
           });
}

// RFC 9773 is optional and the order works without it (renewal then waits for the certificate's
// own renew_at), so a renewalInfo that is no https URL within kMaxCaUrlBytes is dropped, the CA
// then taken as one without ARI, rather than refusing the whole directory and so every order at
// the CA. Logged, so that an operator can tell it from a CA that offers none.
void dropMalformedRenewalInfo(Directory& directory, const std::string& directoryUrl) {
    if (directory.renewalInfo.empty() || isHttpsUrl(directory.renewalInfo, kMaxCaUrlBytes))
        return;
    logEvent(LogLevel::Warn, "renewalInfo ignored: the directory's is no https URL",
             {{"ca", directoryUrl},
              {"renewal_info", shownText(directory.renewalInfo, kMaxProblemInstanceBytes)}});
    directory.renewalInfo.clear();
}

}  // namespace

Client::Client(Transport& transport, std::string directoryUrl,
               std::chrono::milliseconds directoryLifetime)
    : transport_(transport),
      directoryUrl_(std::move(directoryUrl)),
      directoryLifetime_(directoryLifetime) {}

const Directory& Client::directory() {
    if (!directory_) return readDirectory();
    const auto now = std::chrono::steady_clock::now();
    if (now < nextDirectoryRead_) return *directory_;
    try {
        return readDirectory();
    } catch (const AcmeError& e) {
        // Only stale: the copy still names the CA's resources, which usually stay put, and the
        // request that asked is then sent rather than failed for the directory alone.
        nextDirectoryRead_ = now + kDirectoryRetryAfterFailure;
        logEvent(LogLevel::Warn, "acme directory not read again; the copy held is used",
                 {{"ca", directoryUrl_},
                  {"retry_in_s", static_cast<long long>(std::chrono::seconds(
                                     kDirectoryRetryAfterFailure).count())},
                  {"detail", errorDetail(e)}});
        return *directory_;
    }
}

const Directory& Client::refreshDirectory(std::chrono::milliseconds unlessRefreshedWithin) {
    const auto now = std::chrono::steady_clock::now();
    if (directory_ && lastRefresh_ && now - *lastRefresh_ < unlessRefreshedWithin)
        return *directory_;
    const Directory& directory = readDirectory();
    lastRefresh_ = now;  // a failed one does not count: the next asks again
    return directory;
}

const Directory& Client::readDirectory() {
    const auto json = transport_.get(directoryUrl_).json();
    Directory directory{text(json, "newNonce"), text(json, "newAccount"),
                        text(json, "newOrder"), text(json, "renewalInfo"), {}, {}, false};
    // RFC 8555 §7.1.1: the optional meta object; anything but strings in the list is skipped.
    if (const auto meta = json->getObject("meta")) {
        if (const auto identities = meta->getArray("caaIdentities"))
            for (std::size_t i = 0; i < identities->size(); ++i)
                if (const auto identity = identities->get(static_cast<unsigned>(i));
                    identity.isString() &&
                    issuerDomainNameShape(identity.extract<std::string>()))
                    directory.caaIdentities.push_back(identity.extract<std::string>());
        directory.externalAccountRequired = meta->optValue("externalAccountRequired", false);
        // A name the service could never ask for is no offer to it (and would be listed in
        // every invalidProfile message).
        if (const auto profiles = meta->getObject("profiles"))
            for (const auto& [name, description] : *profiles)
                if (validProfileName(name))
                    directory.profiles[name] =
                        description.isString()
                            ? shownText(description.extract<std::string>(),
                                        kMaxProfileDescriptionBytes)
                            : "";
    }
    if (directory.newNonce.empty() || directory.newAccount.empty() || directory.newOrder.empty())
        throw AcmeError(Problem{"", directoryUrl_ + " is not an ACME directory", 502});
    // RFC 8555 §6.1: the resources the client asks for are https, as the order's URLs are;
    // a directory naming others is refused whole (not kept: read again next time).
    // revokeCert and keyChange are never asked for, so not looked at.
    requireCaUrl(directory.newNonce, "a directory \"newNonce\"");
    requireCaUrl(directory.newAccount, "a directory \"newAccount\"");
    requireCaUrl(directory.newOrder, "a directory \"newOrder\"");
    dropMalformedRenewalInfo(directory, directoryUrl_);
    transport_.setNewNonceUrl(directory.newNonce);
    directory_ = std::move(directory);
    nextDirectoryRead_ = std::chrono::steady_clock::now() + directoryLifetime_;
    return *directory_;
}

std::string Client::newAccount(EVP_PKEY* accountKey, const std::string& email,
                               const std::optional<ExternalAccountKey>& externalAccount) {
    Poco::JSON::Object payload;
    payload.set("termsOfServiceAgreed", true);
    if (!email.empty()) {
        Poco::JSON::Array contact;
        contact.add("mailto:" + email);
        payload.set("contact", contact);
    }
    if (externalAccount) {
        // RFC 8555 §7.3.4: a JWS over our account's public key, MACed with the CA's key.
        Poco::JSON::Parser parser;
        payload.set("externalAccountBinding",
                    parser.parse(externalAccountBinding(accountKey, externalAccount->keyId,
                                                        externalAccount->hmacKey,
                                                        directory().newAccount)));
    } else if (directory().externalAccountRequired) {
        // Not worth a request the CA must refuse: say what is missing, naming the CA.
        throw AcmeError(Problem{std::string(ProblemType::kExternalAccountRequired),
                                directoryUrl_ +
                                    " requires External Account Binding: set its EAB key id "
                                    "and HMAC key (README \"Several CAs\")",
                                400});
    }
    return postNewAccount(accountKey, stringify(payload));
}

std::string Client::existingAccount(EVP_PKEY* accountKey) {
    Poco::JSON::Object payload;
    payload.set("onlyReturnExisting", true);
    return postNewAccount(accountKey, stringify(payload));
}

std::string Client::postNewAccount(EVP_PKEY* accountKey, const std::string& payload) {
    // No kid: the JWK goes in the header (RFC 8555 §6.2).
    const HttpReply reply =
        transport_.post(directory().newAccount, payload, accountKey, std::nullopt);
    // RFC 8555 §7.3: 201 for an account created, 200 for the key's existing one (§7.3.1). Any
    // other status is no account answer: a proxy's redirect (307), its Location kept as the
    // account's URL for good. The CA's 502, nothing kept; named with that Location.
    if (reply.status != 201 && reply.status != 200)
        throw protocolError("to newAccount is HTTP " + std::to_string(reply.status) +
                                ", neither 201 nor 200 (RFC 8555 §7.3)",
                            reply.location);
    if (reply.location.empty())
        throw AcmeError(Problem{"", "newAccount answered without Location", reply.status});
    requireCaUrl(reply.location, "a newAccount Location");
    useAccount(accountKey, reply.location);
    return reply.location;
}

void Client::useAccount(EVP_PKEY* accountKey, std::string accountUrl) {
    accountKey_ = accountKey;
    accountUrl_ = std::move(accountUrl);
}

HttpReply Client::postAsAccount(const std::string& url, const std::string& payload) {
    // A caller's mistake, not the CA's: nothing to sign with (useAccount cleared or never run).
    if (accountKey_ == nullptr)
        throw std::logic_error("acme request as an account before one is in use");
    directory();  // the nonce URL must be known
    return transport_.post(url, payload, accountKey_, accountUrl_);
}

HttpReply Client::getRenewalInfo(const std::string& certId) {
    // RFC 9773 §4.1: an unauthenticated GET, so any replica may ask.
    const std::string base = directory().renewalInfo;
    if (base.empty()) throw AcmeError(Problem{"", "the CA offers no renewalInfo", 404});
    return transport_.get(base + (base.back() == '/' ? "" : "/") + certId);
}

}  // namespace dnsh::acme
