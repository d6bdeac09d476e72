#pragma once
// The headers of the CA's answers the transport reads beyond the standard ones: Retry-After and
// Link. Pure functions of the header text.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dnsh::acme {

// A Retry-After header (RFC 8555 §6.6, RFC 9110 §10.2.3) as a delay from `now`: delay-seconds,
// or an HTTP-date (IMF-fixdate; Pebble sends either at random), rounded up to whole seconds and 0
// when already past; nullopt when absent or neither form. More than nine digits saturates at
// 999,999,999 s, never a truncated smaller number; the scheduler bounds what it honours
// (issuance/backoff.hpp).
std::optional<std::chrono::seconds> parseRetryAfter(
    const std::string& value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The target of the first link with `relation` among Link header values (RFC 8288:
// `<url>;rel="name"`, several per value separated by commas); "" when none.
std::string linkTarget(const std::vector<std::string>& linkValues, const std::string& relation);

}  // namespace dnsh::acme
