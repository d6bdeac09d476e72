#pragma once
// All HTTPS to the CA in one place: keep-alive sessions per host (Poco NetSSL, trust from
// ACME_CA_BUNDLE or the system store), the nonce pool, signing, badNonce retries, and problem
// documents -> AcmeError. One instance per thread.
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acme/call_budget.hpp"
#include "acme/deadline_session.hpp"
#include "acme/jws.hpp"
#include "acme/problem.hpp"
#include "acme/response_headers.hpp"  // parseRetryAfter, linkTarget

namespace dnsh::acme {

struct HttpReply {
    int status = 0;
    std::string body;
    std::string location;
    std::string contentType;
    std::optional<std::chrono::seconds> retryAfter;
    std::string termsOfService;  // Link rel="terms-of-service" (RFC 8555 §7.3.3), if any

    // The body as a JSON object; any other body (a proxy's HTML page in a 200) is the CA's
    // protocol error: an AcmeError of status 502, retried and passed over as a 5xx is.
    Poco::JSON::Object::Ptr json() const;
};

// "dns-handling/<version>" (the project's version in CMakeLists.txt): RFC 8555 §6.1 requires a
// User-Agent on every request, and CAs refuse requests without one (Pebble 2.10 does).
const std::string& userAgent();

class Transport {
public:
    // `timeout`: the budget of one request, all of it: connecting, the TLS handshake, sending,
    // waiting for the answer and reading it (a CA trickling bytes included), and the one retry
    // on a fresh connection a replayable request may get. A CA that accepts and never answers
    // fails a call after about that long.
    Transport(std::string caBundlePath, std::chrono::milliseconds timeout);

    HttpReply get(const std::string& url);

    // Signed POST (RFC 8555 §6.2). kid empty: JWK in the header (newAccount). Signed with the
    // newest nonce held; retries badNonce a bounded number of times, with the nonce that
    // badNonce answer carried when it had one (RFC 8555 §6.5). An empty payload is a
    // POST-as-GET (§6.3), safe to send again after a connection failure; any other payload is
    // sent once: a lost answer (none, or a body short of its Content-Length) throws AcmeError
    // with outcomeUnknown().
    HttpReply post(const std::string& url, const std::string& payload, EVP_PKEY* accountKey,
                   const std::optional<std::string>& kid);

    void setNewNonceUrl(const std::string& url) { newNonceUrl_ = url; }

    // Runs before each request is sent, given the request's whole budget (`timeout`, or less
    // under a CallBudget): one call may send several requests (a fresh nonce, badNonce retries,
    // the directory read again), each allowed that long, and a scheduler keeps its lease for the
    // one about to start. An exception it throws ends the call before the request is sent.
    // Empty: nothing runs.
    using BeforeRequest = std::function<void(std::chrono::milliseconds budget)>;
    void setBeforeEachRequest(BeforeRequest hook) { beforeEachRequest_ = std::move(hook); }
    const BeforeRequest& beforeEachRequest() const { return beforeEachRequest_; }

    // The budget every request takes its time from while it is set (acme/call_budget.hpp): a
    // request is given what is left of it when that is less than `timeout`, and once it is
    // spent none is sent: each fails at once as one the CA did not answer in time (unreachable,
    // not outcomeUnknown). nullptr: each request has `timeout`, however many there are.
    void setCallBudget(CallBudget* budget) { callBudget_ = budget; }
    CallBudget* callBudget() const { return callBudget_; }
    std::chrono::milliseconds timeout() const { return timeout_; }

    // HTTP requests sent to the CA so far (newNonce, retries and reconnects included).
    std::uint64_t requestCount() const { return requestCount_; }

private:
    // `replayable`: the request may be sent again when the connection fails (GET, POST-as-GET).
    // A signed POST with a payload is not: its outcome is unknown once sent (the caller re-reads
    // the object with POST-as-GET instead).
    HttpReply send(const std::string& method, const std::string& url, const std::string& body,
                   bool replayable);
    // The nonce pool (transport_post.cpp): the newest nonce is used first, and only the few
    // newest are kept.
    std::string takeNonce();
    void keepNonce(std::string nonce);
    HttpsDeadlineSession& sessionFor(const std::string& scheme, const std::string& host,
                                     unsigned short port);

    Poco::Net::Context::Ptr context_;
    std::chrono::milliseconds timeout_;
    std::map<std::string, std::unique_ptr<HttpsDeadlineSession>> sessions_;
    std::deque<std::string> nonces_;
    std::string newNonceUrl_;
    std::uint64_t requestCount_ = 0;
    BeforeRequest beforeEachRequest_;
    CallBudget* callBudget_ = nullptr;
};

}  // namespace dnsh::acme
