#include "acme/transport.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>

#include "acme/error_metrics.hpp"
#include "acme/http_deadline.hpp"
#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

// A CA may reject many nonces in a row (Pebble can be told to reject half); each retry is one
// cheap round trip, and with 50% rejection 16 retries fail once in 131072 calls.
constexpr int kBadNonceRetries = 16;
// What the CA may send in one answer. RFC 8555's are small (a certificate chain a few KiB, an
// order a list of URLs); one larger is refused rather than held in memory whole.
constexpr std::size_t kMaxAnswerBytes = 1 << 20;

// An answer past kMaxAnswerBytes: not a network failure (nothing to retry), the CA's fault.
class AnswerTooLarge : public std::runtime_error {
public:
    AnswerTooLarge() : std::runtime_error("the CA's answer is larger than 1 MiB") {}
};

using Clock = std::chrono::steady_clock;

// The answer's body, read in pieces so that a CA trickling bytes cannot keep a request alive
// past its deadline.
std::string readBody(std::istream& in, Poco::Net::HTTPSClientSession& session,
                     Clock::time_point deadline) {
    std::string body;
    char buffer[8192];
    for (;;) {
        limitWaits(session, true, deadline);
        in.read(buffer, sizeof buffer);
        body.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (body.size() > kMaxAnswerBytes) throw AnswerTooLarge();
        if (in.bad()) {
            // The stream swallows the socket's exception (a timeout, a reset); a cut-short
            // body is an error, never an answer.
            if (const Poco::Exception* failure = session.networkException()) failure->rethrow();
            throw Poco::IOException("the answer was cut short");
        }
        if (!in) return body;
    }
}

void initializeSslOnce() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

// An error the CA caused: it answered with an error status or an answer the transport cannot
// use, or it was not reached. The one place dnsh_acme_errors_total is counted (badNonce retries
// included); errors the client raises itself (its own settings, an answer's content) are not.
AcmeError caError(Problem problem, std::optional<std::chrono::seconds> retryAfter = std::nullopt,
                  bool outcomeUnknown = false) {
    countAcmeError(problem);
    return AcmeError(std::move(problem), retryAfter, outcomeUnknown);
}

// A request that failed, as its error's detail says it: the URL is often the CA's own (an order's
// finalize, authorization and certificate URLs, any length up to the answer's 1 MiB), and the
// detail becomes the domain's error: both made printable and cut as a problem's text is
// (problem.hpp).
std::string failureDetail(const std::string& reason, const std::string& url,
                          const std::string& note = "") {
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
// top-level problem: callers act on its type). userActionRequired names where to act. The CA's
// text is bounded and printable from here on (problem.hpp).
AcmeError toError(const HttpReply& reply, const std::string& url) {
    const ProblemDocument document = parseProblemDocument(reply.body);
    logSubproblems(document, url);
    const Problem problem{
        document.type,
        problemDetailText(document, "HTTP " + std::to_string(reply.status) + " from " + url,
                          reply.termsOfService),
        reply.status};
    return caError(problem, reply.retryAfter);
}

// RFC 9110 §5.3: a header sent several times is one list; every Link value of the answer.
std::vector<std::string> headerValues(const Poco::Net::HTTPResponse& response,
                                      const std::string& name) {
    std::vector<std::string> values;
    for (auto it = response.find(name);
         it != response.end() && Poco::icompare(it->first, name) == 0; ++it)
        values.push_back(it->second);
    return values;
}

}  // namespace

const std::string& userAgent() {
    static const std::string value = std::string("dns-handling/") + DNSH_VERSION;
    return value;
}

std::optional<std::chrono::seconds> parseRetryAfter(const std::string& value,
                                                    std::chrono::system_clock::time_point now) {
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string::npos) {
        if (value.size() > 9) return std::chrono::seconds(999999999);
        return std::chrono::seconds(std::stol(value));
    }
    // RFC 9110 §5.6.7: IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the form senders must use
    // (Poco's parser alone would take "-1" for a date).
    static const std::regex imfFixdate(
        R"(^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$)");
    if (!std::regex_match(value, imfFixdate)) return std::nullopt;
    Poco::DateTime date;
    int timeZoneDifferential = 0;
    if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, value, date,
                                        timeZoneDifferential))
        return std::nullopt;
    const auto at = std::chrono::system_clock::time_point(
        std::chrono::microseconds(date.timestamp().epochMicroseconds() -
                                  Poco::Timestamp::TimeDiff(timeZoneDifferential) * 1'000'000));
    if (at <= now) return std::chrono::seconds(0);
    const auto wait = std::chrono::ceil<std::chrono::seconds>(at - now);
    return std::min(wait, std::chrono::seconds(999999999));
}

std::string linkTarget(const std::vector<std::string>& linkValues, const std::string& relation) {
    for (const auto& value : linkValues) {
        // Each link: <target> then its parameters up to the next '<' (RFC 8288 §3).
        for (std::size_t open = value.find('<'); open != std::string::npos;) {
            const std::size_t close = value.find('>', open);
            if (close == std::string::npos) break;
            const std::size_t next = value.find('<', close);
            const std::string parameters = value.substr(close + 1, next - close - 1);
            const std::size_t rel = parameters.find("rel=");
            if (rel != std::string::npos) {
                // rel="a b" (quoted, one or more relation types) or rel=a (a token).
                std::size_t from = rel + 4;
                std::string types;
                if (from < parameters.size() && parameters[from] == '"') {
                    const std::size_t end = parameters.find('"', from + 1);
                    types = parameters.substr(from + 1, end - from - 1);
                } else {
                    types = parameters.substr(from, parameters.find_first_of(";, ", from) - from);
                }
                std::istringstream words(types);
                for (std::string word; words >> word;)
                    if (Poco::icompare(word, relation) == 0)
                        return value.substr(open + 1, close - open - 1);
            }
            open = next;
        }
    }
    return "";
}

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

Poco::JSON::Object::Ptr HttpReply::json() const {
    try {
        Poco::JSON::Parser parser;
        const auto parsed = parser.parse(body);
        if (parsed.type() == typeid(Poco::JSON::Object::Ptr))
            return parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
    }
    throw caError(Problem{"", "the CA sent a body that is not a JSON object", status});
}

Transport::Transport(std::string caBundlePath, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    initializeSslOnce();
    // An empty CA location with loadDefaultCAs=true means the system store.
    context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", caBundlePath,
                                      Poco::Net::Context::VERIFY_STRICT, 9, caBundlePath.empty());
}

HttpsDeadlineSession& Transport::sessionFor(const std::string& scheme,
                                            const std::string& host, unsigned short port) {
    if (scheme != "https")
        throw AcmeError(Problem{"", "ACME requires https (RFC 8555 §6.1), got " + scheme, 0});
    const std::string key = host + ":" + std::to_string(port);
    auto& session = sessions_[key];
    if (!session) {
        session = std::make_unique<HttpsDeadlineSession>(host, port, context_);
        session->setKeepAlive(true);
        // Reconnect rather than reuse a connection idle this long: a server that closed it
        // would fail a signed POST, which is never sent twice.
        session->setKeepAliveTimeout(Poco::Timespan(5, 0));
    }
    return *session;
}

HttpReply Transport::send(const std::string& method, const std::string& url,
                          const std::string& body, bool replayable) {
    const Poco::URI uri = caUri(url);
    auto& session = sessionFor(uri.getScheme(), uri.getHost(), uri.getPort());
    Poco::Net::HTTPRequest request(method, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("User-Agent", userAgent());  // RFC 8555 §6.1
    if (method == "POST") {
        request.setContentType("application/jose+json");  // RFC 8555 §6.2
        request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    // An idle kept-alive connection that is readable has been closed by the server (or holds
    // junk): open a fresh one rather than lose a request that may not be sent twice.
    if (session.connected() &&
        session.socket().poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ))
        session.reset();
    HttpReply reply;
    // The budget covers the whole request, a retry on a fresh connection included.
    const auto deadline = Clock::now() + timeout_;
    // A kept-alive connection the server has since closed fails on first use: a replayable
    // request is retried once on a fresh connection before calling the CA unreachable.
    for (int attempt = 0;; ++attempt) {
        const auto started = std::chrono::steady_clock::now();
        ++requestCount_;
        // Bounds the exchange as a whole: connecting and the TLS handshake when sendRequest opens
        // the connection, sending, and the answer's status line, headers and body.
        ExchangeDeadline exchangeDeadline(session, deadline);
        try {
            limitWaits(session, true, deadline);
            session.sendRequest(request) << body;
            limitWaits(session, true, deadline);
            Poco::Net::HTTPResponse response;
            std::istream& in = session.receiveResponse(response);
            reply.body = readBody(in, session, deadline);
            reply.status = static_cast<int>(response.getStatus());
            reply.location = response.get("Location", "");
            reply.contentType = response.getContentType();
            reply.retryAfter = parseRetryAfter(response.get("Retry-After", ""));
            reply.termsOfService = linkTarget(headerValues(response, "Link"), "terms-of-service");
            // RFC 8555 §6.5.1: every response may carry a fresh nonce; keep it for the next POST.
            if (const std::string nonce = response.get("Replay-Nonce", ""); !nonce.empty())
                nonces_.push_back(nonce);
            if (logEnabled(LogLevel::Debug)) {
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count();
                logEvent(LogLevel::Debug, "acme request",
                         {{"method", method},
                          {"path", uri.getPath()},
                          {"status", reply.status},
                          {"duration_ms", static_cast<double>(us) / 1000}});
            }
            break;
        } catch (const AnswerTooLarge& e) {
            exchangeDeadline.end();
            session.reset();  // the rest of the answer is never read
            // A POST's outcome is then unknown: the CA acted on it before answering.
            throw caError(Problem{"", failureDetail(e.what(), url), 502}, std::nullopt,
                          !replayable);
        } catch (const Poco::Exception& e) {
            // The deadline's shutdown shows as whatever the read, write or handshake it ended saw
            // (end of file, a reset, a TLS error): it is a timeout.
            const bool cutAtDeadline = exchangeDeadline.end();
            session.reset();  // a broken connection is not reused
            const bool timedOut =
                cutAtDeadline || dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr;
            const std::string reason =
                cutAtDeadline ? Poco::TimeoutException("no answer in time").displayText()
                              : e.displayText();
            if (!replayable)
                throw caError(
                    Problem{"", failureDetail(reason, url, "; the CA's answer was lost"), 0},
                    std::nullopt, true);
            if (attempt == 0 && !timedOut) continue;
            throw caError(Problem{"", failureDetail(reason, url), 0});
        }
    }
    return reply;
}

HttpReply Transport::get(const std::string& url) {
    HttpReply reply = send("GET", url, "", true);
    if (reply.status >= 400) throw toError(reply, url);
    return reply;
}

std::string Transport::takeNonce() {
    if (nonces_.empty()) {
        // RFC 8555 §7.2: newNonce (GET is allowed and answers 204; no HEAD body pitfalls).
        if (newNonceUrl_.empty()) throw AcmeError(Problem{"", "directory has no newNonce", 0});
        send("GET", newNonceUrl_, "", true);
        if (nonces_.empty())
            throw caError(Problem{"", "newNonce answered without Replay-Nonce", 500});
    }
    std::string nonce = nonces_.front();
    nonces_.pop_front();
    return nonce;
}

HttpReply Transport::post(const std::string& url, const std::string& payload, EVP_PKEY* accountKey,
                          const std::optional<std::string>& kid) {
    for (int attempt = 0;; ++attempt) {
        const std::string jws = signJws(accountKey, JwsHeader{url, takeNonce(), kid}, payload);
        HttpReply reply = send("POST", url, jws, payload.empty());
        if (reply.status < 400) return reply;
        AcmeError error = toError(reply, url);
        // RFC 8555 §6.5: badNonce carries a fresh nonce; retry with it, a bounded number of times.
        if (error.is(ProblemType::kBadNonce) && attempt < kBadNonceRetries) continue;
        throw error;
    }
}

}  // namespace dnsh::acme
