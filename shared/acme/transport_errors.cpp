#include "acme/transport_errors.hpp"

#include <Poco/Exception.h>

#include "acme/error_metrics.hpp"
#include "core/shown_text.hpp"

namespace dnsh::acme {

namespace transport_errors {

// An error the CA caused: it answered with an error status or an answer the transport cannot
// use, or it was not reached. The one place dnsh_acme_errors_total is counted (badNonce retries
// included); errors the client raises itself (its own settings, an answer's content) are not.
AcmeError caError(Problem problem, std::optional<std::chrono::seconds> retryAfter,
                  bool outcomeUnknown) {
    countAcmeError(problem);
    return AcmeError(std::move(problem), retryAfter, outcomeUnknown);
}

// A request that failed, as its error's detail says it: the URL is often the CA's own (an order's
// finalize, authorization and certificate URLs, any length up to the answer's 1 MiB), and the
// detail becomes the domain's error: both made printable and cut as a problem's text is
// (problem.hpp).
std::string failureDetail(const std::string& reason, const std::string& url,
                          const std::string& note) {
    return shownText(reason, kMaxProblemInstanceBytes) + " (" +
           shownText(url, kMaxProblemInstanceBytes) + note + ")";
}

// A URL to ask the CA at; most are the CA's own (its directory's and the order's, refused by the
// client when they do not parse; stored ones were not always), and Poco::URI throws
// Poco::SyntaxException for one that does not parse: the CA's protocol error, as the client's
// (502), never an exception the scheduler takes for an internal error.
Poco::URI caUri(const std::string& url) {
    try {
        return Poco::URI(url);
    } catch (const Poco::Exception& e) {
        throw caError(Problem{"", failureDetail("the URL does not parse: " + e.displayText(), url),
                              502});
    }
}

// RFC 7807: a problem+json body becomes the error; anything else keeps the status and body.
// RFC 8555 §6.7.1: subproblems are logged with the identifier each is about (the error keeps the
// top-level problem, callers acting on its type, and how many subproblems it listed: the
// fallback tells a refused account from refused names by it). userActionRequired names where to
// act. The CA's text is bounded and printable from here on (problem.hpp).
AcmeError toError(const HttpReply& reply, const std::string& url) {
    const ProblemDocument document = parseProblemDocument(reply.body);
    logSubproblems(document, url);
    const Problem problem{
        document.type,
        problemDetailText(document, "HTTP " + std::to_string(reply.status) + " from " + url,
                          reply.termsOfService),
        reply.status, document.subproblems.size() + document.subproblemsLeftOut};
    return caError(problem, reply.retryAfter);
}

}  // namespace transport_errors

AcmeError::AcmeError(Problem problem, std::optional<std::chrono::seconds> retryAfter,
                     bool outcomeUnknown)
    : std::runtime_error(problem.status == 0
                             ? "ACME CA unreachable: " + problem.detail
                             : "ACME CA error: " + problem.detail +
                                   (problem.type.empty() ? "" : " (" + problem.type + ")")),
      problem_(std::move(problem)),
      retryAfter_(retryAfter),
      outcomeUnknown_(outcomeUnknown) {}

bool AcmeError::retryable() const noexcept {
    return problem_.status == 0 || problem_.status >= 500 || is(ProblemType::kRateLimited) ||
           is(ProblemType::kServerInternal) || is(ProblemType::kBadNonce);
}

}  // namespace dnsh::acme
