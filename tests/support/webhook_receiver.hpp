#pragma once
// The webhook receiver of the end-to-end tests: tests/node/webhook_receiver.mjs, a real HTTP
// server on a free loopback port that verifies every request with `standardwebhooks` (the
// Standard Webhooks reference implementation) and records what it got in a file, so the record
// survives taking it down and up again. Killed on destruction.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace dnsh::test {

// One request as the receiver recorded it.
struct ReceivedEvent {
    int seq = 0;  // arrival order, across restarts
    std::string webhookId;
    bool verified = false;
    std::string error;  // why verification failed
    std::string type;
    std::string domainId;
    int answered = 0;  // the status the receiver answered
    std::string body;
    std::string authorization;  // its Authorization header as sent, "" for none
    // When the request came and when its answer was over or the connection gone (the
    // receiver's clock, ms since the epoch); cut: the answer was never all sent (trickled).
    long long startedMs = 0;
    long long endedMs = 0;
    bool cut = false;
    bool delivered() const { return answered >= 200 && answered < 300 && !cut; }
};

// What a trickling receiver sends slowly: its body (status line and headers at once) or its
// headers (the status line at once, the headers never ended).
enum class TricklePart { Body, Headers };

// How the receiver listens: http, or https with the test stack's certificate for 127.0.0.1
// (ACME_CA_BUNDLE and its key.pem, the stand-in CA's too), which a scheduler trusts when its
// SSL_CERT_FILE names ACME_CA_BUNDLE (OpenSSL's default trust, which the deliverer uses).
enum class ReceiverScheme { Http, Https };

class WebhookReceiver {
public:
    // Verifies with `secret` (whsec_...); answers 204 until told otherwise (over https it cannot
    // be told otherwise: answer() and trickle() need http).
    explicit WebhookReceiver(std::string secret, ReceiverScheme scheme = ReceiverScheme::Http);
    ~WebhookReceiver();
    WebhookReceiver(const WebhookReceiver&) = delete;
    WebhookReceiver& operator=(const WebhookReceiver&) = delete;

    std::string url() const;  // the WEBHOOK_URL to give the service
    int port() const { return port_; }
    // From now on answer `status` after `delayMs`, for `domainId` only when given.
    void answer(int status, int delayMs = 0, const std::string& domainId = "");
    // From now on answer `status` and never finish: one byte of `part` every `byteEveryMs` (a
    // body is announced as 1 MB) until the client goes away, 40 s at most; for `domainId` only
    // when given.
    void trickle(TricklePart part, int status, int byteEveryMs, const std::string& domainId = "");
    void stop();   // down: connections are refused
    void start();  // up again on the same port, answering 204, the record kept

    std::vector<ReceivedEvent> received() const;
    // The requests about one domain, in arrival order.
    std::vector<ReceivedEvent> receivedFor(const std::string& domainId) const;

private:
    void setMode(int status, int delayMs, int trickleMs, TricklePart part,
                 const std::string& domainId);

    std::string secret_;
    ReceiverScheme scheme_;
    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

// The types of the events answered 2xx, in arrival order.
std::vector<std::string> deliveredTypes(const std::vector<ReceivedEvent>& events);

// Waits until `count` of the domain's events were answered 2xx.
bool waitDelivered(const WebhookReceiver& receiver, const std::string& domainId, std::size_t count,
                   std::chrono::milliseconds timeout);

// A fresh Standard Webhooks secret: whsec_ and 32 random bytes in base64.
std::string newWebhookSecret();

}  // namespace dnsh::test
