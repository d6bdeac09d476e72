#pragma once
// RFC 9773 ACME Renewal Information (ARI): the certificate identifier, the suggested renewal
// window, the renewal time picked in it, and how long to wait before asking again. Pure functions
// of their inputs; fetching the renewalInfo resource is the client's job.
#include <chrono>
#include <optional>
#include <string>

namespace dnsh::acme {

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial number's DER content octets),
// both without "=" padding. `leafPem` may hold a chain; the first certificate is used. Throws
// std::runtime_error when the PEM does not parse or there is no AKI keyIdentifier.
std::string ariCertId(const std::string& leafPem);

// RFC 9773 §4.2: a RenewalInfo object. `start` < `end` always holds for a parsed window.
struct RenewalWindow {
    std::chrono::system_clock::time_point start, end;  // suggestedWindow
    std::string explanationUrl;                        // explanationURL; empty when absent
};

// RFC 9773 §4.2. Throws std::runtime_error when the body is not a JSON object, suggestedWindow is
// missing or malformed, a timestamp is not RFC 3339, or end does not follow start; the caller then
// treats it as a long-term error (§4.3.3).
RenewalWindow parseRenewalInfo(const std::string& json);

// RFC 9773 §4.2 step 2: a uniform random time in [start, end). `uniform01` in [0, 1) is drawn by
// the caller; values outside are clamped into that range.
std::chrono::system_clock::time_point pickRenewalTime(const RenewalWindow& window,
                                                      double uniform01);

// RFC 9773 §4.3.2/§4.3.3: when to fetch renewalInfo again. The server's Retry-After clamped to
// [1 minute, 1 day]; 6 hours when it is absent or invalid (negative).
std::chrono::seconds ariRetryAfter(std::optional<std::chrono::seconds> retryAfter);

}  // namespace dnsh::acme
