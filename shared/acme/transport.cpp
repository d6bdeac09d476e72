#include "acme/transport.hpp"

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

#include "acme/http_deadline.hpp"
#include "acme/transport_errors.hpp"
#include "config/duration.hpp"
#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

using transport_errors::caError;
using transport_errors::caUri;
using transport_errors::failureDetail;
using transport_errors::toError;

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

// RFC 9112 §8: "A message that uses a valid Content-Length is incomplete if the size of the
// message body received (in octets) is less than the value given by Content-Length." A body cut
// by a clean close (TLS close_notify) reads as an end of stream, so readBody takes it whole; it
// is a lost answer, as one cut by a reset is. Answers without a body (1xx, 204, 304) are not
// held to the header.
void refuseCutBody(const Poco::Net::HTTPResponse& response, std::size_t received) {
    const auto status = response.getStatus();
    if (status < 200 || status == Poco::Net::HTTPResponse::HTTP_NO_CONTENT ||
        status == Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED || !response.hasContentLength())
        return;
    const Poco::Int64 declared = response.getContentLength64();
    if (static_cast<Poco::Int64>(received) < declared)
        throw Poco::IOException("the answer was cut short: " + std::to_string(received) +
                                " of the " + std::to_string(declared) +
                                " bytes its Content-Length announced");
}

// What a request took, however it ended, spent from its caller's budget (none: nothing).
class SpentOnExit {
public:
    explicit SpentOnExit(CallBudget* budget) : budget_(budget), started_(Clock::now()) {}
    ~SpentOnExit() {
        if (budget_ != nullptr) budget_->spend(Clock::now() - started_);
    }
    SpentOnExit(const SpentOnExit&) = delete;
    SpentOnExit& operator=(const SpentOnExit&) = delete;
    // The request's deadline counts from here: one that ran to it spends all that was left.
    Clock::time_point started() const { return started_; }

private:
    CallBudget* budget_;
    Clock::time_point started_;
};

void initializeSslOnce() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
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

Poco::JSON::Object::Ptr HttpReply::json() const {
    try {
        Poco::JSON::Parser parser;
        const auto parsed = parser.parse(body);
        if (parsed.type() == typeid(Poco::JSON::Object::Ptr))
            return parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
    }
    // Not the answer's own status (200, 201): an error of that status is neither retried nor
    // passed over to the next CA (AcmeError::retryable), and a proxy's HTML page in a success
    // answer passes. The CA's protocol error (502), as a certificate download that is no chain
    // is (certificate_chain.hpp).
    throw caError(Problem{"",
                          "the CA's answer (HTTP " + std::to_string(status) + ", Content-Type " +
                              shownText(contentType.empty() ? "none" : contentType, 100) +
                              ") is not a JSON object",
                          502});
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
    // Under a caller's budget (CallBudget) a request gets what is left of it, and none once it
    // is spent: the call then ends as at a CA that did not answer in time, without asking it
    // (not counted in dnsh_acme_errors_total: nothing was asked).
    std::chrono::milliseconds budget = timeout_;
    if (callBudget_ != nullptr) {
        // One that may not be sent twice (newOrder, newAccount, a deactivation) goes only with
        // its whole timeout left: cut by the budget once written, its outcome would be unknown
        // (an order the CA made and counted, which we never see). Not sent, it is known.
        const bool tooLittleLeft =
            callBudget_->spent() || (!replayable && callBudget_->left() < timeout_);
        if (tooLittleLeft) {
            callBudget_->markCut();
            throw AcmeError(Problem{"",
                                    failureDetail(
                                        "no answer in time: " +
                                            std::string(callBudget_->spent()
                                                            ? "this call's requests to the CAs "
                                                              "took all of their "
                                                            : "too little was left, for a request "
                                                              "that may not be sent twice, of "
                                                              "this call's ") +
                                            formatDuration(callBudget_->total()) +
                                            " at the CAs; not sent",
                                        url),
                                    0});
        }
        budget = std::min(budget, callBudget_->left());
    }
    if (beforeEachRequest_) beforeEachRequest_(budget);
    const SpentOnExit spending(callBudget_);
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
    const auto deadline = spending.started() + budget;
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
            refuseCutBody(response, reply.body.size());
            reply.status = static_cast<int>(response.getStatus());
            reply.location = response.get("Location", "");
            reply.contentType = response.getContentType();
            reply.retryAfter = parseRetryAfter(response.get("Retry-After", ""));
            reply.termsOfService = linkTarget(headerValues(response, "Link"), "terms-of-service");
            // RFC 8555 §6.5.1: every response may carry a fresh nonce; keep it for the next POST.
            if (const std::string nonce = response.get("Replay-Nonce", ""); !nonce.empty())
                keepNonce(nonce);
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
            // A request given only what was left of its caller's budget says so.
            const bool cutByBudget = timedOut && budget < timeout_;
            if (cutByBudget) callBudget_->markCut();
            const std::string budgetNote =
                cutByBudget
                    ? "; the last of this call's " + formatDuration(callBudget_->total()) +
                          " at the CAs"
                    : "";
            // Only a request that began to leave may have reached the CA: one that failed in
            // the name's lookup, the connect, the TLS handshake or the certificate check was
            // never sent, so it is no lost answer (an order budget token is given back for it)
            // and may be tried on a fresh connection as a replayable one is.
            if (!replayable && session.requestWritten())
                throw caError(
                    Problem{"",
                            failureDetail(reason, url, budgetNote + "; the CA's answer was lost"),
                            0},
                    std::nullopt, true);
            if (attempt == 0 && !timedOut) continue;
            throw caError(Problem{"", failureDetail(reason, url, budgetNote), 0});
        }
    }
    return reply;
}

HttpReply Transport::get(const std::string& url) {
    HttpReply reply = send("GET", url, "", true);
    if (reply.status >= 400) throw toError(reply, url);
    return reply;
}

}  // namespace dnsh::acme
