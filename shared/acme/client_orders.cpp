// Client's calls on an order (RFC 8555 §7.4), its authorizations and challenges (§7.5) and its
// certificate (§7.4.2); the directory and the account are client.cpp's.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/String.h>

#include <algorithm>
#include <stdexcept>

#include "acme/ca_strings.hpp"
#include "acme/certificate_chain.hpp"
#include "acme/client.hpp"
#include "acme/client_answers.hpp"
#include "acme/persist_challenge.hpp"
#include "acme/problem.hpp"
#include "acme/rfc3339.hpp"
#include "config/profile_name.hpp"
#include "core/shown_text.hpp"
#include "crypto/keys.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

using client_answers::caUrl;
using client_answers::protocolError;
using client_answers::requireCaUrl;
using client_answers::stringify;
using client_answers::text;

constexpr std::size_t kMaxDnsNameBytes = 253;  // RFC 1035 §2.3.4, in presentation form

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

// Identifiers as a set: DNS names compare without case (RFC 4343 §3), in any order, and a CA
// names each once (Pebble lowers, sorts apart and merges those asked for).
std::vector<std::string> identifierSet(std::vector<std::string> names) {
    for (auto& name : names) Poco::toLowerInPlace(name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

// RFC 8555 §7.1.3: "expires (optional, string): The timestamp after which the server will
// consider this order invalid, encoded in the format specified in [RFC3339]". Read as strictly
// as ARI's timestamps: PostgreSQL's own reading of the CA's text failed the store of an order
// the CA had made (a number: 500, the next CA never tried) or took "tomorrow" and a time without
// offset (in the session's zone) for some time. None when absent or no such timestamp: the
// order is then bounded by POLL_TIMEOUT, as one from a CA that sends no expires.
std::optional<std::chrono::system_clock::time_point> orderExpires(
    const Poco::JSON::Object::Ptr& json) {
    const std::string expires = text(json, "expires");
    if (expires.empty()) return std::nullopt;
    try {
        return parseRfc3339(expires, "the order's expires");
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
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
    order.expires = orderExpires(json);
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
        // RFC 8555 §7.4: 201 and the order; DigiCert answers 200 (win-acme issue 1568), taken
        // too. Any other status (a proxy's redirect) is no order answer, its Location not the
        // order's URL: refused as its shape would be, nothing read, and its budget token kept
        // spent (the request reached something that answered; whether the CA made an order
        // behind it cannot be told).
        if (reply.status != 201 && reply.status != 200)
            throw protocolError("to newOrder is HTTP " + std::to_string(reply.status) +
                                    ", not 201 (RFC 8555 §7.4)",
                                reply.location);
        // Its error is the CA's (502), not one keeping the 201: that would be neither retried
        // nor passed over to the next CA. The order has no URL to carry: nothing to name or
        // give back, and its budget token stays spent (the 201 says it was created).
        if (reply.location.empty())
            throw protocolError("to newOrder (HTTP " + std::to_string(reply.status) +
                                ") has no Location header, the order's URL (RFC 8555 §7.4)");
        requireCaUrl(reply.location, "a newOrder Location");
        orderUrl = reply.location;
        const Poco::JSON::Object::Ptr json = reply.json();
        Order order = parseOrder(json, reply.location, reply.retryAfter);
        // RFC 8555 §7.4: the CA answers with the order it created, for the identifiers asked
        // for. Another order's authorizations are not ours to fetch, answer or store.
        if (order.identifiers.size() > dnsNames.size() ||
            identifierSet(order.identifiers) != identifierSet(dnsNames))
            throw protocolError("is an order for other identifiers than those asked for");
        // Said once, here where the order is placed: its polls read the same expires silently.
        if (!order.expires && json->has("expires"))
            logEvent(LogLevel::Warn,
                     "acme order's expires is no RFC 3339 timestamp; the order is kept without one",
                     {{"ca", directoryUrl_},
                      {"order_url", order.url},
                      {"expires", shownText(text(json, "expires"), kMaxTimestampBytes)}});
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
            // RFC 8555 §7.1.4: "challenges (required, array of objects)"; getObject gives a
            // null Ptr for anything else, which parseChallenge must not be handed.
            const auto entry = list->getObject(static_cast<unsigned>(i));
            if (!entry) throw protocolError("has a challenge that is no object");
            Challenge challenge = parseChallenge(entry);
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

}  // namespace dnsh::acme
