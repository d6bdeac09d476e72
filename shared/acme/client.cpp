#include "acme/client.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/String.h>

#include <algorithm>
#include <sstream>

#include <Poco/JSON/Parser.h>

#include "acme/ca_strings.hpp"
#include "acme/certificate_chain.hpp"
#include "acme/jws.hpp"
#include "acme/persist_challenge.hpp"
#include "acme/problem.hpp"
#include "config/profile_name.hpp"
#include "core/shown_text.hpp"
#include "crypto/keys.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

constexpr std::size_t kMaxDnsNameBytes = 253;  // RFC 1035 §2.3.4, in presentation form

std::string text(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    return object->optValue<std::string>(name, "");
}

// An order's or a challenge's "error": its detail and type, bounded and printable as a problem
// answer's are (problem.hpp): it becomes the order's and the domain's error.
std::string problemDetail(const Poco::JSON::Object::Ptr& object) {
    const auto error = object->getObject("error");
    if (!error) return "";
    const ProblemDocument problem = parseProblemDocument(*error);
    std::string detail = problem.detail;
    if (!problem.type.empty()) detail += " (" + problem.type + ")";
    return detail;
}

// RFC 8659 §4.2: an issuer-domain-name is labels of letters, digits and '-', joined by '.'.
bool issuerDomainNameShape(const std::string& name) {
    return !name.empty() && name.size() <= kMaxCaaIdentityBytes &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '.';
           });
}

// The CA answered what RFC 8555 does not allow: its error, as an answer that is no ACME
// directory or an order without authorizations is (502: the CA's fault, another CA may be
// tried), and never acted on. `value`, the CA's, is named cut as a problem's text is
// (problem.hpp): the detail becomes the domain's error.
AcmeError protocolError(const std::string& what, const std::string& value = "") {
    return AcmeError(Problem{
        "",
        "the CA's answer " + what +
            (value.empty() ? "" : ": " + shownText(value, kMaxProblemInstanceBytes)),
        502});
}

// RFC 8555 §6.1: every URL the CA names is https; each is requested, and stored or named in
// errors, so one past kMaxCaUrlBytes is refused, not cut (a cut URL names another resource).
void requireCaUrl(const std::string& url, const std::string& what) {
    if (!isHttpsUrl(url, kMaxCaUrlBytes))
        throw protocolError("has " + what + " that is no https URL of at most " +
                                std::to_string(kMaxCaUrlBytes) + " bytes",
                            url);
}

// The URL member `name` of `object`, "" when absent; refused as requireCaUrl says.
std::string caUrl(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    std::string url = text(object, name);
    if (!url.empty()) requireCaUrl(url, "a \"" + name + "\"");
    return url;
}

// Identifiers as a set: DNS names compare without case (RFC 4343 §3), in any order, and a CA
// names each once (Pebble lowers, sorts apart and merges those asked for).
std::vector<std::string> identifierSet(std::vector<std::string> names) {
    for (auto& name : names) Poco::toLowerInPlace(name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

std::string stringify(const Poco::JSON::Object& object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

Order parseOrder(const Poco::JSON::Object::Ptr& json, const std::string& url,
                 std::optional<std::chrono::seconds> retryAfter) {
    Order order;
    order.url = url;
    order.retryAfter = retryAfter;
    // draft-ietf-acme-profiles §4: the CA echoes the profile newOrder named, and the service
    // names only valid ones (issuance/profiles.cpp); anything else is not our profile.
    if (std::string echoed = text(json, "profile"); validProfileName(echoed))
        order.profile = std::move(echoed);
    order.status = parseOrderStatus(text(json, "status"));
    order.expires = text(json, "expires");
    order.finalize = caUrl(json, "finalize");
    order.certificate = caUrl(json, "certificate");
    order.error = problemDetail(json);
    // RFC 8555 §7.1.3: "identifiers (required, array of object)"; the values, any type.
    if (const auto list = json->getArray("identifiers"))
        for (std::size_t i = 0; i < list->size(); ++i)
            if (const auto identifier = list->getObject(static_cast<unsigned>(i)))
                order.identifiers.push_back(text(identifier, "value"));
    // RFC 8555 §7.1.3: the CA's policy decides which authorizations an order needs, not one per
    // identifier; each is checked to be for one of them where it is read (placeOrder). Each is
    // a request and a stored row: past kMaxOrderAuthorizations they are refused unread.
    if (const auto list = json->getArray("authorizations")) {
        if (list->size() > kMaxOrderAuthorizations)
            throw protocolError("lists " + std::to_string(list->size()) +
                                " authorizations, more than the " +
                                std::to_string(kMaxOrderAuthorizations) + " an order may have");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const Poco::Dynamic::Var url = list->get(static_cast<unsigned>(i));
            if (!url.isString()) throw protocolError("has an authorization that is no URL");
            order.authorizations.push_back(url.extract<std::string>());
            requireCaUrl(order.authorizations.back(), "an authorization");
        }
    }
    return order;
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

Challenge parseChallenge(const Poco::JSON::Object::Ptr& json) {
    Challenge challenge{text(json, "type"), caUrl(json, "url"),
                        parseChallengeStatus(text(json, "status")), text(json, "token"),
                        problemDetail(json), parseIssuerDomainNames(*json)};
    // RFC 8555 §8.1: a token is base64url of at least 128 bits, no padding. It is stored and
    // put in the key authorization; a type without one (dns-persist-01) sends none, or "".
    if (!challenge.token.empty() && !isChallengeToken(challenge.token))
        throw protocolError("has a challenge token that is no base64url of " +
                                std::to_string(kMinChallengeTokenBytes) + " to " +
                                std::to_string(kMaxChallengeTokenBytes) + " characters",
                            challenge.token);
    return challenge;
}

}  // namespace

Client::Client(Transport& transport, std::string directoryUrl)
    : transport_(transport), directoryUrl_(std::move(directoryUrl)) {}

const Directory& Client::directory() {
    if (!directory_) {
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
        if (directory.newNonce.empty() || directory.newAccount.empty() ||
            directory.newOrder.empty())
            throw AcmeError(Problem{"", directoryUrl_ + " is not an ACME directory", 502});
        // RFC 8555 §6.1: the resources the client asks for are https, as the order's URLs are;
        // a directory naming others is refused whole (not cached: read again next time).
        // revokeCert and keyChange are never asked for, so not looked at.
        requireCaUrl(directory.newNonce, "a directory \"newNonce\"");
        requireCaUrl(directory.newAccount, "a directory \"newAccount\"");
        requireCaUrl(directory.newOrder, "a directory \"newOrder\"");
        dropMalformedRenewalInfo(directory, directoryUrl_);
        transport_.setNewNonceUrl(directory.newNonce);
        directory_ = directory;
    }
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
    // No kid: the JWK goes in the header (RFC 8555 §6.2). 200 = existing account, 201 = new.
    const HttpReply reply =
        transport_.post(directory().newAccount, stringify(payload), accountKey, std::nullopt);
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
    directory();  // the nonce URL must be known
    return transport_.post(url, payload, accountKey_, accountUrl_);
}

Order Client::newOrder(const std::vector<std::string>& dnsNames, const std::string& replaces,
                       const std::string& profile) {
    Poco::JSON::Array identifiers;
    for (const auto& name : dnsNames) {
        Poco::JSON::Object identifier;
        identifier.set("type", "dns");
        identifier.set("value", name);
        identifiers.add(identifier);
    }
    Poco::JSON::Object payload;
    payload.set("identifiers", identifiers);
    if (!replaces.empty()) payload.set("replaces", replaces);
    if (!profile.empty()) payload.set("profile", profile);
    const HttpReply reply = postAsAccount(directory().newOrder, stringify(payload));
    // From here on the CA has created the order (RFC 8555 §7.4: 201 and its Location), so a
    // refusal of the answer is an order it holds and counts, not one never placed.
    std::string orderUrl;
    try {
        // Its error is the CA's (502), not one keeping the 201: that would be neither retried
        // nor passed over to the next CA. The order has no URL to carry: nothing to name or
        // give back, and its budget token stays spent (the 201 says it was created).
        if (reply.location.empty())
            throw protocolError("to newOrder (HTTP " + std::to_string(reply.status) +
                                ") has no Location header, the order's URL (RFC 8555 §7.4)");
        requireCaUrl(reply.location, "a newOrder Location");
        orderUrl = reply.location;
        Order order = parseOrder(reply.json(), reply.location, reply.retryAfter);
        // RFC 8555 §7.4: the CA answers with the order it created, for the identifiers asked
        // for. Another order's authorizations are not ours to fetch, answer or store.
        if (order.identifiers.size() > dnsNames.size() ||
            identifierSet(order.identifiers) != identifierSet(dnsNames))
            throw protocolError("is an order for other identifiers than those asked for");
        return order;
    } catch (const AcmeError& e) {
        throw OrderAnswerRefused(e, orderUrl);
    }
}

Order Client::getOrder(const std::string& url) {
    const HttpReply reply = postAsAccount(url, "");
    return parseOrder(reply.json(), url, reply.retryAfter);
}

Authorization Client::getAuthorization(const std::string& url) {
    const HttpReply reply = postAsAccount(url, "");
    const auto json = reply.json();
    Authorization authorization;
    authorization.url = url;
    authorization.retryAfter = reply.retryAfter;
    authorization.status = parseAuthorizationStatus(text(json, "status"));
    authorization.wildcard = json->optValue<bool>("wildcard", false);
    if (const auto identifier = json->getObject("identifier"))
        authorization.identifier = text(identifier, "value");
    // The identifier is stored and named in errors: no longer than a DNS name. Whether it is
    // one of the order's: authorizesIdentifierOf.
    if (authorization.identifier.size() > kMaxDnsNameBytes)
        throw protocolError("has an authorization identifier longer than a DNS name",
                            authorization.identifier);
    if (const auto list = json->getArray("challenges")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            Challenge challenge = parseChallenge(list->getObject(i));
            if (!challenge.error.empty()) authorization.error = challenge.error;
            authorization.challenges.push_back(std::move(challenge));
        }
    }
    return authorization;
}

Challenge Client::respondChallenge(const std::string& url) {
    // RFC 8555 §7.5.1: an empty JSON object tells the CA to validate now.
    return parseChallenge(postAsAccount(url, "{}").json());
}

void Client::deactivateAuthorization(const std::string& url) {
    // RFC 8555 §7.5.2: the client gives up the authorization; the CA will not validate it.
    postAsAccount(url, R"({"status":"deactivated"})");
}

Order Client::finalize(const Order& order, const std::string& csrDer) {
    Poco::JSON::Object payload;
    payload.set("csr", base64UrlEncode(csrDer));
    // RFC 8555 §7.4 asks for no Location on finalize's answer (Pebble sends none): the order is
    // the one at the URL we already hold.
    const HttpReply reply = postAsAccount(order.finalize, stringify(payload));
    return parseOrder(reply.json(), order.url, reply.retryAfter);
}

IssuedCertificate Client::downloadCertificate(const std::string& url, EVP_PKEY* certificateKey,
                                              const std::vector<std::string>& dnsNames) {
    // RFC 8555 §7.4.2: application/pem-certificate-chain, leaf first.
    return issuedCertificate(postAsAccount(url, "").body, certificateKey, dnsNames);
}

bool authorizesIdentifierOf(const Authorization& authorization, const Order& order) {
    const std::string name = (authorization.wildcard ? "*." : "") + authorization.identifier;
    return std::any_of(order.identifiers.begin(), order.identifiers.end(),
                       [&](const std::string& identifier) {
                           return Poco::icompare(identifier, name) == 0;
                       });
}

HttpReply Client::getRenewalInfo(const std::string& certId) {
    // RFC 9773 §4.1: an unauthenticated GET, so any replica may ask.
    const std::string base = directory().renewalInfo;
    if (base.empty()) throw AcmeError(Problem{"", "the CA offers no renewalInfo", 404});
    return transport_.get(base + (base.back() == '/' ? "" : "/") + certId);
}

}  // namespace dnsh::acme
