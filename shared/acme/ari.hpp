#pragma once
// RFC 9773 ACME Renewal Information (ARI): the certificate identifier, the suggested renewal
// window, the renewal time picked in it, and how long to wait before asking again. Pure functions
// of their inputs; fetching the renewalInfo resource is the client's job.
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace dnsh::acme {

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial number's DER content octets),
// both without "=" padding. `leafPem` may hold a chain; the first certificate is used. Throws
// std::runtime_error when the PEM does not parse or there is no AKI keyIdentifier.
std::string ariCertId(const std::string& leafPem);

// RFC 9773 §4.2's explanationURL is for the operator to follow: kept only when it is an https URL
// of printable characters within this many bytes. One longer is dropped, not cut (a cut URL is a
// broken link).
inline constexpr std::size_t kMaxExplanationUrlBytes = 2048;

// RFC 9773 §4.2: a RenewalInfo object. `start` < `end` always holds for a parsed window.
struct RenewalWindow {
    std::chrono::system_clock::time_point start, end;  // suggestedWindow
    // explanationURL; empty when absent, or not an https URL within kMaxExplanationUrlBytes (the
    // window stands without it).
    std::string explanationUrl;
};

// RFC 9773 §4.2. Throws std::runtime_error when the body is not a JSON object, suggestedWindow is
// missing or malformed, a timestamp is not RFC 3339 (or longer than 64 bytes), or end does not
// follow start; the caller then treats it as a long-term error (§4.3.3).
RenewalWindow parseRenewalInfo(const std::string& json);

// RFC 9773 §4.2 step 2: a uniform random time in [start, end). `uniform01` in [0, 1) is drawn by
// the caller; values outside are clamped into that range.
std::chrono::system_clock::time_point pickRenewalTime(const RenewalWindow& window,
                                                      double uniform01);

// RFC 9773 §4.3.2/§4.3.3: when to fetch renewalInfo again after a usable answer. The server's
// Retry-After clamped to [1 minute, 1 day]; 6 hours when it is absent or invalid (negative).
std::chrono::seconds ariRetryAfter(std::optional<std::chrono::seconds> retryAfter);

// RFC 9773 §4.3.3 sorts a renewalInfo request that failed into temporary and long-term errors.
enum class AriErrorKind {
    // "Connection timeout", "Request timeout", "5xx HTTP errors": here every request that did
    // not reach the CA or spent its timeout (the transport does not tell a refused connection
    // or a failed DNS lookup, long-term in §4.3.3, from a timeout), and every 5xx answer.
    Temporary,
    // 429 or rateLimited (RFC 8555 §6.6): a "Non-5xx HTTP error", so long-term, unless the
    // CA's Retry-After says when to come back.
    RateLimited,
    // Any other error answer, or an answer that is not a RenewalInfo object.
    LongTerm,
};

std::string_view toString(AriErrorKind kind);

// The kind of what askRenewalInfo caught: an AcmeError (acme/problem.hpp) by its status and
// type, anything else (a body that does not parse, a certificate without a CertID) LongTerm.
AriErrorKind ariErrorKind(const std::exception& error);

// When to fetch renewalInfo again after an error answered with `retryAfter` (the error answer's
// Retry-After). Temporary: the Retry-After clamped to [1 minute, 6 hours], 5 minutes without
// one; RateLimited: the same, 6 hours without one; LongTerm: 6 hours whatever it says.
std::chrono::seconds ariErrorRetry(AriErrorKind kind,
                                   std::optional<std::chrono::seconds> retryAfter);

}  // namespace dnsh::acme
