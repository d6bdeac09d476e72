#include "events/webhook_delivery.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

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
      owner_(std::move(owner)),
      database_(config.databaseUrl, config.databaseLimits),
      polling_(polling) {}

WebhookDeliverer::Attempt WebhookDeliverer::post(const std::string& eventId,
                                                 const std::string& body) const {
    try {
        const Poco::URI uri(settings_.url);
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (uri.getScheme() == "https")
            session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                      tlsContext());
        else
            session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
        session->setTimeout(Poco::Timespan(settings_.timeout.count() * 1000));
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
        session->sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::istream& answer = session->receiveResponse(response);
        Poco::NullOutputStream discard;
        Poco::StreamCopier::copyStream(answer, discard);
        const int status = static_cast<int>(response.getStatus());
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
    // Long enough for the slowest request (connect, send, receive, each up to the timeout).
    const Poco::Int64 leaseMs = 3 * settings_.timeout.count() + 30'000;
    const auto event = database_.withSession(
        [&](Poco::Data::Session& session) { return WebhookStore(session).claim(owner_, leaseMs); });
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
    // The URL may carry credentials in its query: it is not logged, nor the secret or body.
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
