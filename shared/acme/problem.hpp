#pragma once
// RFC 8555 §6.7 / RFC 7807 problem documents, turned into one typed error in one place
// (transport_errors.cpp, which also counts the CA's errors). Callers compare `type`, never parse
// messages.
#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstddef>
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
    // How many subproblems the document listed (RFC 8555 §6.7.1), kept or not: the means a CA
    // attributes an error to identifiers. They are logged where parsed, not kept here.
    std::size_t subproblems = 0;
};

// RFC 8555 §6.7.1: one identifier's own problem inside a problem document.
struct Subproblem {
    std::string type;
    std::string detail;
    std::string identifier;  // "dns:example.com"; empty when the CA named none
};

// What is kept of a CA's problem text. Any bytes, up to the 1 MiB an answer may be (control
// bytes and terminal escapes included, customer data quoted); it becomes the domain's and the
// order's error, every domain view and list page, webhook payloads, the API's 502 and log
// lines. So it is made printable and cut where it is parsed (core/shown_text.hpp): every text
// field below holds at most its bound, escaped, whatever the CA sent.
inline constexpr std::size_t kMaxProblemDetailBytes = 512;
inline constexpr std::size_t kMaxProblemTypeBytes = 128;      // §6.7's URNs are under 60
inline constexpr std::size_t kMaxProblemInstanceBytes = 256;  // a URL for a person to visit
inline constexpr std::size_t kMaxIdentifierBytes = 300;       // "dns:" and a 253-byte name
// Subproblems kept (each one logged): one per identifier of an order, which names a few.
inline constexpr std::size_t kMaxKeptSubproblems = 10;

// What a problem document's body says (RFC 7807, RFC 8555 §6.7), bounded as above.
// `instance`: the URL a person visits (userActionRequired).
struct ProblemDocument {
    std::string type;
    std::string detail;
    std::string instance;
    std::vector<Subproblem> subproblems;  // the first kMaxKeptSubproblems
    std::size_t subproblemsLeftOut = 0;   // those past them
};

// The body of an error answer; empty fields when it is not a JSON object.
ProblemDocument parseProblemDocument(const std::string& body);

// A problem document inside another object: an order's or a challenge's "error" (RFC 8555
// §7.1.3, §7.1.5), bounded the same way.
ProblemDocument parseProblemDocument(const Poco::JSON::Object& object);

// One log line per subproblem kept (with the identifier it is about), one more counting those
// left out: a CA listing a thousand cannot flood the log.
void logSubproblems(const ProblemDocument& document, const std::string& url);

// The detail shown for an error answer: the document's detail (or `fallback`) and, for
// userActionRequired, where the person has to go: the document's `instance`, else the answer's
// terms-of-service link (RFC 8555 §7.3.3), made printable and cut as `instance` is.
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
