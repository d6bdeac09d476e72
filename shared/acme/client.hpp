#pragma once
// RFC 8555 resources, one method each. Protocol structs keep the RFC's field names.
#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acme/problem.hpp"
#include "acme/status.hpp"
#include "config/ca_settings.hpp"
#include "crypto/certificate.hpp"
#include "acme/transport.hpp"

namespace dnsh::acme {

// What the directory's meta holds of the CA's text (RFC 8555 §7.1.1, draft-ietf-acme-profiles §3)
// is kept only when it is something the service could use, each entry within its bound: it is
// named in errors (the domain's, the API's 400 and 502), stored and shown in CAA and
// _validation-persist suggestions.
// A caaIdentities entry is an issuer domain name (RFC 8659 §4.2): at most 253 bytes of letters,
// digits, '-' and '.'; no CAA record can name another, so others are dropped.
inline constexpr std::size_t kMaxCaaIdentityBytes = 253;
// A profile's description, made printable and cut (core/shown_text.hpp).
inline constexpr std::size_t kMaxProfileDescriptionBytes = 256;

// RFC 8555 §7.1.1. newNonce, newAccount and newOrder are each an https URL within
// kMaxCaUrlBytes (acme/ca_strings.hpp, RFC 8555 §6.1), else the directory is refused: an
// AcmeError of status 502, as one missing any of them is.
struct Directory {
    std::string newNonce, newAccount, newOrder;
    // RFC 9773 §3: empty when the CA offers no ARI, or when it names one that is no https URL
    // within kMaxCaUrlBytes (ARI is optional: such a CA is used without it, not refused).
    std::string renewalInfo;
    // meta.caaIdentities: the issuer domain names CAA records name this CA by (RFC 8659 §4.2);
    // empty when the directory lists none (or none within kMaxCaaIdentityBytes).
    std::vector<std::string> caaIdentities;
    // draft-ietf-acme-profiles §3: meta.profiles, name -> description; empty when the CA offers
    // no profiles (then newOrder names none). Only names newOrder could carry
    // (config/profile_name.hpp's validProfileName: the only ones the service asks for) are kept.
    std::map<std::string, std::string> profiles;
    // RFC 8555 §7.1.1 meta.externalAccountRequired: newAccount needs External Account Binding.
    bool externalAccountRequired = false;
};

// How many authorizations an order may list. RFC 8555 §7.1.3: "The authorizations required are
// dictated by server policy; there may not be a 1:1 relationship between the order identifiers
// and the authorizations required." Each is a request and a stored row, so a bound remains: Let's
// Encrypt's 100 names per order; an answer listing more is refused unread.
inline constexpr std::size_t kMaxOrderAuthorizations = 100;

// RFC 8555 §7.1.3
struct Order {
    std::string url;  // from Location (newOrder) or the URL we fetched
    OrderStatus status = OrderStatus::Unknown;
    // RFC 8555 §7.1.3 "expires"; none when the CA sent none, or sent no RFC 3339 timestamp
    // (acme/rfc3339.hpp: a number, "tomorrow", a time without offset).
    std::optional<std::chrono::system_clock::time_point> expires;
    // The identifiers' values (RFC 8555 §7.1.3); newOrder's are the names it asked for.
    std::vector<std::string> identifiers;
    // At most kMaxOrderAuthorizations; each, the finalize and the certificate URL (and the url
    // from newOrder's Location) an https URL within kMaxCaUrlBytes (acme/ca_strings.hpp). An
    // answer that breaks this is refused: an AcmeError of status 502.
    std::vector<std::string> authorizations;
    std::string finalize;
    std::string certificate;
    std::string error;  // the problem detail when invalid
    // draft-ietf-acme-profiles §4: the CA's echo of the profile newOrder named; empty when none,
    // or when it is no validProfileName (then it is not an echo of ours).
    std::string profile;
    // RFC 8555 §7.4: how long the CA asks us to wait before polling again (processing).
    std::optional<std::chrono::seconds> retryAfter;
};

// RFC 8555 §7.1.5. `url` within kMaxCaUrlBytes, `token` (when not empty) base64url
// within kMaxChallengeTokenBytes (acme/ca_strings.hpp), else the answer is refused.
struct Challenge {
    std::string type, url;
    ChallengeStatus status = ChallengeStatus::Unknown;
    std::string token, error;
    // dns-persist-01 (draft-ietf-acme-dns-persist-00 §3.1): the issuer names a
    // _validation-persist record may name; empty for other types, or when the CA sent a list a
    // client must reject (acme/persist_challenge.hpp).
    std::vector<std::string> issuerDomainNames;
};

// RFC 8555 §7.1.4
struct Authorization {
    std::string url;
    AuthorizationStatus status = AuthorizationStatus::Unknown;
    std::string identifier;  // at most 253 bytes, else the answer is refused
    bool wildcard = false;
    std::vector<Challenge> challenges;
    std::string error;  // from an invalid challenge
    // RFC 8555 §7.5.1: how long the CA asks us to wait before polling again.
    std::optional<std::chrono::seconds> retryAfter;
};

// newOrder was answered (RFC 8555 §7.4: the CA created the order) and the answer refused for its
// shape: the CA holds an order nobody will use and counts it like any other. The refusal's
// problem, and the order's Location: "" when it had none or that was refused.
class OrderAnswerRefused : public AcmeError {
public:
    OrderAnswerRefused(const AcmeError& refusal, std::string orderUrl)
        : AcmeError(refusal.problem(), refusal.retryAfter(), refusal.outcomeUnknown()),
          orderUrl_(std::move(orderUrl)) {}
    const std::string& orderUrl() const noexcept { return orderUrl_; }

private:
    std::string orderUrl_;
};

// RFC 8555 §7.1.4: whether `authorization` is for one of `order`'s identifiers (a wildcard's
// names its base name and says "wildcard"), compared without case (RFC 4343 §3).
bool authorizesIdentifierOf(const Authorization& authorization, const Order& order);

// How long a directory read is kept by default (ACME_DIRECTORY_LIFETIME). A CA changes its
// directory without telling its clients (a profile added, renewalInfo offered, caaIdentities or a
// resource's URL changed), and a handler or scheduler process lives for weeks: it sees such a
// change within this.
inline constexpr std::chrono::hours kDirectoryLifetime{1};
// After a failed read of a stale copy, how long the copy is used before the next read: not
// every request while the CA's directory is down, each costing a timeout.
inline constexpr std::chrono::minutes kDirectoryRetryAfterFailure{1};

class Client {
public:
    Client(Transport& transport, std::string directoryUrl,
           std::chrono::milliseconds directoryLifetime = kDirectoryLifetime);

    const std::string& directoryUrl() const { return directoryUrl_; }

    // RFC 8555 §7.1.1: read on first use and again once the lifetime old. A first read that
    // fails throws (the CA's error). A read of a stale copy that fails is logged and the copy
    // used, read again kDirectoryRetryAfterFailure later: a CA whose directory alone is down
    // still takes the requests of orders under way. A new read is assigned in place:
    // references to the Directory or its members stay valid, their values updated.
    const Directory& directory();
    // Reads the directory now, whatever the copy's age, unless a refresh read it less than
    // `unlessRefreshedWithin` ago: before refusing what the copy does not list (a profile the
    // CA added since, draft-ietf-acme-profiles §3), at most that often. A failure throws.
    const Directory& refreshDirectory(
        std::chrono::milliseconds unlessRefreshedWithin = std::chrono::milliseconds(0));

    // RFC 8555 §7.3: registers (or finds, when the key is known) the account; returns its URL.
    // An answer of another status than 201 or 200 (a proxy's redirect) is the CA's error (502),
    // its Location not kept.
    // `externalAccount`: the CA's key for External Account Binding (§7.3.4), when it wants one.
    std::string newAccount(EVP_PKEY* accountKey, const std::string& email,
                           const std::optional<ExternalAccountKey>& externalAccount = std::nullopt);

    // RFC 8555 §7.3.1: newAccount {"onlyReturnExisting": true}, no External Account Binding:
    // the URL of `accountKey`'s account, which the CA never creates here. A CA that does not
    // know the key answers accountDoesNotExist (an AcmeError).
    std::string existingAccount(EVP_PKEY* accountKey);

    void useAccount(EVP_PKEY* accountKey, std::string accountUrl);
    // The account's URL (RFC 8555 §7.3, the kid), as CAA's accounturi names it (RFC 8657 §3);
    // empty before newAccount or useAccount.
    const std::string& accountUrl() const { return accountUrl_; }

    // §7.4; `replaces`: the ARI CertID of the certificate this order renews (RFC 9773 §5);
    // `profile`: the CA's profile to issue under (draft-ietf-acme-profiles §4), "" for its default.
    // An answer refused for its shape (one without Location, or of another status than 201
    // or 200, too): OrderAnswerRefused, status 502 (the CA may have created the order).
    Order newOrder(const std::vector<std::string>& dnsNames, const std::string& replaces = "",
                   const std::string& profile = "");
    Order getOrder(const std::string& url);                         // POST-as-GET, §7.4
    Authorization getAuthorization(const std::string& url);         // §7.5
    Challenge respondChallenge(const std::string& url);             // §7.5.1, payload {}
    void deactivateAuthorization(const std::string& url);           // §7.5.2
    Order finalize(const Order& order, const std::string& csrDer);  // §7.4
    // §7.4.2: the PEM chain, checked as acme/certificate_chain.hpp says (the leaf for
    // `certificateKey`, the CSR's, listing `dnsNames`), else the CA's error (502).
    IssuedCertificate downloadCertificate(const std::string& url, EVP_PKEY* certificateKey,
                                          const std::vector<std::string>& dnsNames);
    // RFC 9773 §4.1: GET <renewalInfo>/<CertID>; the body and Retry-After. Throws AcmeError.
    HttpReply getRenewalInfo(const std::string& certId);

private:
    HttpReply postAsAccount(const std::string& url, const std::string& payload);
    // GET of the directory, checked and held (directory_), the next read due a lifetime later.
    const Directory& readDirectory();
    // newAccount's `payload` signed with the JWK (no kid yet, RFC 8555 §6.2); the account's URL
    // from Location, then used.
    std::string postNewAccount(EVP_PKEY* accountKey, const std::string& payload);

    Transport& transport_;
    std::string directoryUrl_;
    std::optional<Directory> directory_;
    std::chrono::milliseconds directoryLifetime_;
    std::chrono::steady_clock::time_point nextDirectoryRead_;  // once directory_ is held
    std::optional<std::chrono::steady_clock::time_point> lastRefresh_;  // refreshDirectory's
    EVP_PKEY* accountKey_ = nullptr;
    std::string accountUrl_;
};

}  // namespace dnsh::acme
