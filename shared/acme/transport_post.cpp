// Transport's signed POSTs (RFC 8555 §6.2) and the nonce pool they draw on (§6.5, §7.2); the
// exchange itself is transport.cpp's.
#include <cstddef>
#include <utility>

#include "acme/jws.hpp"
#include "acme/transport.hpp"
#include "acme/transport_errors.hpp"

namespace dnsh::acme {

namespace {

using transport_errors::caError;
using transport_errors::toError;

// A CA may reject many nonces in a row (Pebble can be told to reject half); each retry is one
// cheap round trip, and with 50% rejection 16 retries fail once in 131072 calls.
constexpr int kBadNonceRetries = 16;

// Nonces held at most. Every answer carries one (§6.5.1: GETs of the directory and renewalInfo
// too) and only a POST uses one, so the pool grew by one per GET, for the process's life; a CA
// may stop accepting a nonce once it is old or newer ones were issued, so the oldest are the
// ones it refuses.
constexpr std::size_t kMaxNonces = 8;

}  // namespace

void Transport::keepNonce(std::string nonce) {
    nonces_.push_back(std::move(nonce));
    if (nonces_.size() > kMaxNonces) nonces_.pop_front();
}

// The newest first (LIFO): the one a CA is likeliest still to accept. The oldest first, a pool
// grown by many GETs at a CA expiring nonces was refused one badNonce after the other, each
// retry's fresh nonce (§6.5: the badNonce answer carries one to use) put behind the stale ones,
// until the call failed after kBadNonceRetries.
std::string Transport::takeNonce() {
    if (nonces_.empty()) {
        // RFC 8555 §7.2: newNonce (GET is allowed and answers 204; no HEAD body pitfalls).
        if (newNonceUrl_.empty()) throw AcmeError(Problem{"", "directory has no newNonce", 0});
        send("GET", newNonceUrl_, "", true);
        if (nonces_.empty())
            throw caError(Problem{"", "newNonce answered without Replay-Nonce", 500});
    }
    std::string nonce = std::move(nonces_.back());
    nonces_.pop_back();
    return nonce;
}

HttpReply Transport::post(const std::string& url, const std::string& payload, EVP_PKEY* accountKey,
                          const std::optional<std::string>& kid) {
    for (int attempt = 0;; ++attempt) {
        const std::string jws = signJws(accountKey, JwsHeader{url, takeNonce(), kid}, payload);
        HttpReply reply = send("POST", url, jws, payload.empty());
        if (reply.status < 400) return reply;
        AcmeError error = toError(reply, url);
        // RFC 8555 §6.5: badNonce carries a fresh nonce, now the newest held: retry with it, a
        // bounded number of times.
        if (error.is(ProblemType::kBadNonce) && attempt < kBadNonceRetries) continue;
        throw error;
    }
}

}  // namespace dnsh::acme
