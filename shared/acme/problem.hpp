#pragma once
// RFC 8555 §6.7 / RFC 7807 problem documents, turned into one typed error in one place
// (transport.cpp, which also counts the CA's errors). Callers compare `type`, never parse
// messages.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dnsh::acme {

// RFC 8555 §6.7 error types this client acts on.
namespace ProblemType {
inline constexpr const char* kBadNonce = "urn:ietf:params:acme:error:badNonce";
inline constexpr const char* kRateLimited = "urn:ietf:params:acme:error:rateLimited";
inline constexpr const char* kServerInternal = "urn:ietf:params:acme:error:serverInternal";
inline constexpr const char* kAccountDoesNotExist =
    "urn:ietf:params:acme:error:accountDoesNotExist";
inline constexpr const char* kMalformed = "urn:ietf:params:acme:error:malformed";
inline constexpr const char* kOrderNotReady = "urn:ietf:params:acme:error:orderNotReady";
// RFC 9773 §5 (registered in §7.4): the certificate named in `replaces` already has a replacement.
inline constexpr const char* kAlreadyReplaced = "urn:ietf:params:acme:error:alreadyReplaced";
// draft-ietf-acme-profiles §4: newOrder named a profile the CA does not offer.
inline constexpr const char* kInvalidProfile = "urn:ietf:params:acme:error:invalidProfile";
// RFC 8555 §7.3.3: a person has to act (agree to new terms, say) at the problem's `instance`
// URL or the Link rel="terms-of-service" before the CA goes on.
inline constexpr const char* kUserActionRequired =
    "urn:ietf:params:acme:error:userActionRequired";
// RFC 8555 §7.3.4: the CA wants External Account Binding and newAccount carried none.
inline constexpr const char* kExternalAccountRequired =
    "urn:ietf:params:acme:error:externalAccountRequired";
// RFC 8555 §6.7: the JWS (here: the binding's MAC) did not verify, or the key is unknown.
inline constexpr const char* kUnauthorized = "urn:ietf:params:acme:error:unauthorized";
}  // namespace ProblemType

struct Problem {
    std::string type;
    std::string detail;
    int status = 0;
};

// RFC 8555 §6.7.1: one identifier's own problem inside a problem document.
struct Subproblem {
    std::string type;
    std::string detail;
    std::string identifier;  // "dns:example.com"; empty when the CA named none
};

// What a problem document's body says (RFC 7807, RFC 8555 §6.7). `instance`: the URL a person
// visits (userActionRequired).
struct ProblemDocument {
    std::string type;
    std::string detail;
    std::string instance;
    std::vector<Subproblem> subproblems;
};

// The body of an error answer; empty fields when it is not a JSON object.
ProblemDocument parseProblemDocument(const std::string& body);

// The detail shown for an error answer: the document's detail (or `fallback`) and, for
// userActionRequired, where the person has to go: the document's `instance`, else the answer's
// terms-of-service link (RFC 8555 §7.3.3).
std::string problemDetailText(const ProblemDocument& document, const std::string& fallback,
                              const std::string& termsOfServiceLink);

class AcmeError : public std::runtime_error {
public:
    // `problem.status` 0 means the CA was not reached at all (network, TLS, timeout).
    AcmeError(Problem problem, std::optional<std::chrono::seconds> retryAfter = std::nullopt,
              bool outcomeUnknown = false);

    const Problem& problem() const noexcept { return problem_; }
    bool is(const char* type) const { return problem_.type == type; }
    bool unreachable() const noexcept { return problem_.status == 0; }
    // Worth trying again later: network failures, 5xx, rateLimited, serverInternal, badNonce.
    bool retryable() const noexcept;
    std::optional<std::chrono::seconds> retryAfter() const noexcept { return retryAfter_; }
    // A signed POST was sent and its answer lost: the CA may have acted on it. Never re-sent;
    // the caller reads the object's state again.
    bool outcomeUnknown() const noexcept { return outcomeUnknown_; }

private:
    Problem problem_;
    std::optional<std::chrono::seconds> retryAfter_;
    bool outcomeUnknown_ = false;
};

}  // namespace dnsh::acme
