#include "events/webhook_delivery.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <sstream>
#include <type_traits>

#include "acme/deadline_session.hpp"
#include "acme/http_deadline.hpp"
#include "events/webhook_signature.hpp"
#include "events/webhook_store.hpp"
#include "log/log.hpp"
#include "core/metric_registry.hpp"

namespace dnsh {

namespace {

Poco::Net::Context::Ptr tlsContext() {
    static std::once_flag once;
    static Poco::Net::Context::Ptr context;
    std::call_once(once, [] {
        Poco::Net::initializeSSL();
        context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                         Poco::Net::Context::VERIFY_STRICT, 9, true);
    });
    return context;
}

using Clock = std::chrono::steady_clock;

// The most of an answer read: its status line and headers. The body is never read.
constexpr std::size_t kMaxHeadBytes = 16 * 1024;

// Where the answer's head ends (past its empty line), or npos while it has not ended.
std::size_t headEnd(const std::string& head) {
    const std::size_t crlf = head.find("\r\n\r\n");
    const std::size_t lf = head.find("\n\n");
    if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) return crlf + 4;
    return lf == std::string::npos ? lf : lf + 2;
}

// The answer's final status code, from its status line and headers read straight from the
// socket in pieces, each read given what is left until `deadline`. Not Poco's receiveResponse:
// its reads wait the full socket timeout each, so a receiver sending a byte now and then kept an
// attempt alive far past WEBHOOK_TIMEOUT (and past the lease, README "Webhooks").
int answerStatus(Poco::Net::HTTPClientSession& session, bool tls, Clock::time_point deadline) {
    std::string head;
    char buffer[1024];
    for (;;) {
        if (const std::size_t end = headEnd(head); end != std::string::npos) {
            std::istringstream in(head.substr(0, end));
            Poco::Net::HTTPResponse response;
            response.read(in);
            const int status = static_cast<int>(response.getStatus());
            if (status < 100 || status >= 200) return status;
            head.erase(0, end);  // an interim 1xx answer: the final one follows
            continue;
        }
        if (head.size() >= kMaxHeadBytes)
            throw Poco::Net::MessageException("the answer's headers are longer than 16 KiB");
        limitWaits(session, tls, deadline);
        const int read = session.socket().receiveBytes(
            buffer, static_cast<int>(std::min(sizeof buffer, kMaxHeadBytes - head.size())));
        if (read <= 0) {
            if (head.empty()) throw Poco::Net::NoMessageException();
            throw Poco::Net::MessageException("the answer ended inside its headers");
        }
        head.append(buffer, static_cast<std::size_t>(read));
    }
}

// The answer's final status code for `request` and `body` sent over a new connection of
// `session`, all of it (connecting, the TLS handshake, sending, the status line and headers)
// ended by `deadline`: the connection is shut down then, whatever waits on it (README
// "Webhooks"). Per-wait timeouts alone let a receiver trickling its handshake a few bytes at a
// time hold the attempt for as long as it liked.
template <class Session>
int exchange(DeadlineSession<Session>& session, Poco::Net::HTTPRequest& request,
             const std::string& body, Clock::time_point deadline) {
    constexpr bool tls = std::is_base_of_v<Poco::Net::HTTPSClientSession, Session>;
    ExchangeDeadline exchangeDeadline(session, deadline);
    try {
        limitWaits(session, tls, deadline);
        std::ostream& out = session.sendRequest(request);
        limitWaits(session, tls, deadline);
        out << body;
        out.flush();
        // The streams swallow the socket's exception (a timeout, a reset), of the headers too.
        if (const Poco::Exception* failure = session.networkException()) failure->rethrow();
        if (!out) throw Poco::IOException("the request could not be sent");
        // Decided by the status code; the body is not read (the session closes the connection).
        return answerStatus(session, tls, deadline);
    } catch (...) {
        // The deadline's shutdown shows as whatever the read, write or handshake it ended saw
        // (end of file, a reset, a TLS error): it is a timeout.
        if (exchangeDeadline.end()) throw Poco::TimeoutException("no answer in time");
        throw;
    }
}

}  // namespace

std::chrono::milliseconds webhookBackoff(int failedAttempts, std::chrono::milliseconds initial) {
    constexpr std::chrono::milliseconds kMaxBackoff{3600 * 1000};
    const auto cap = std::max(kMaxBackoff, initial);
    auto delay = initial;
    for (int i = 1; i < failedAttempts && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
}

WebhookDeliverer::WebhookDeliverer(const Config& config, std::string owner,
                                   IdlePolling* polling)
    : settings_(config.webhook),
      key_(decodeWebhookSecret(config.webhook.secret)),
      userInfo_(webhookUserInfo(config.webhook.url)),
      owner_(std::move(owner)),
      database_(config.databaseUrl, config.databaseLimits),
      polling_(polling) {}

WebhookDeliverer::Attempt WebhookDeliverer::post(const std::string& eventId,
                                                 const std::string& body) const {
    // One deadline for the whole attempt: connecting, the TLS handshake, sending, the status
    // line and headers.
    const auto deadline = Clock::now() + settings_.timeout;
    try {
        const Poco::URI uri(settings_.url);
        const std::string path = uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery();
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        // Standard Webhooks: the timestamp is the attempt's, in seconds, and signed with the id
        // and the body, so a receiver can refuse replays.
        const long long timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        request.set("webhook-id", eventId);
        request.set("webhook-timestamp", std::to_string(timestamp));
        request.set("webhook-signature", webhookSignature(key_, eventId, timestamp, body));
        // What curl and browsers do with user:password@ (RFC 7617 §2). The session gets host
        // and port only, so no exception text of it can hold the credentials.
        if (userInfo_)
            Poco::Net::HTTPBasicCredentials(userInfo_->user, userInfo_->password)
                .authenticate(request);
        int status = 0;
        if (uri.getScheme() == "https") {
            HttpsDeadlineSession session(uri.getHost(), uri.getPort(), tlsContext());
            status = exchange(session, request, body, deadline);
        } else {
            HttpDeadlineSession session(uri.getHost(), uri.getPort());
            status = exchange(session, request, body, deadline);
        }
        return {status >= 200 && status < 300, "HTTP " + std::to_string(status)};
    } catch (const Poco::TimeoutException& e) {
        return {false, "timeout: " + e.displayText()};
    } catch (const Poco::Exception& e) {
        return {false, e.displayText()};
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
}

bool WebhookDeliverer::runOnce() {
    // PostgreSQL was not reachable at the last claim: nothing is asked of it before the next.
    if (!unreachable_.due()) return false;
    // An attempt ends by WEBHOOK_TIMEOUT (post()); the lease outlasts it by far, so no other
    // worker claims the event while this one may still be sending it.
    const Poco::Int64 leaseMs = 3 * settings_.timeout.count() + 30'000;
    std::optional<ClaimedEvent> event;
    try {
        event = database_.withSession([&](Poco::Data::Session& session) {
            return WebhookStore(session).claim(owner_, leaseMs);
        });
        unreachable_.reached();
    } catch (const std::exception& e) {
        // Unreachable: the next claim put off (the scheduler's error delay alone had every
        // deliverer try each second), nothing logged here: the database logs the outage, once
        // for it (summarizeDatabaseOutages). Other errors go on to the scheduler, which logs them.
        if (!databaseUnreachable(e)) throw;
        unreachable_.failed();
        return false;
    }
    if (!event) return false;
    if (polling_) polling_->claimed();
    const auto started = std::chrono::steady_clock::now();
    const Attempt attempt = post(event->eventId, event->payload);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    const int number = event->attempts + 1;
    std::string state = "delivered";
    database_.withSession([&](Poco::Data::Session& session) {
        WebhookStore store(session);
        if (attempt.delivered)
            state = store.markDelivered(*event, owner_) ? "delivered" : "";
        else
            state = store.markFailed(*event, owner_, attempt.outcome,
                                     webhookBackoff(number, settings_.initialBackoff).count(),
                                     settings_.retryWindow.count());
        return true;
    });
    // delivered, failed (to be retried) or dead (out of retries); a lost lease counts nothing.
    if (!state.empty())
        countEvent("dnsh_webhook_deliveries_total",
                   {{"outcome", state == "pending" ? "failed" : state}});
    // The URL may carry credentials in its user info, path or query: it is not logged, nor the
    // secret or body.
    logEvent(attempt.delivered ? LogLevel::Info : LogLevel::Warn, "webhook attempt",
             {{"event_id", event->eventId},
              {"type", event->type},
              {"domain_id", event->domainId},
              {"attempt", number},
              {"outcome", attempt.outcome},
              {"state", state.empty() ? "lease_lost" : state},
              {"duration_ms", elapsed.count()}});
    return true;
}

}  // namespace dnsh
