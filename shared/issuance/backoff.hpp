#pragma once
// How long the scheduler waits before retrying a CA call that failed in a retryable way.
#include <chrono>
#include <optional>

namespace dnsh {

// pollInterval doubled per retry (1st retry: pollInterval), capped at `cap`, never shorter than
// the CA's Retry-After (RFC 8555 §6.6).
std::chrono::milliseconds retryDelay(std::chrono::milliseconds pollInterval, int retries,
                                     std::optional<std::chrono::seconds> retryAfter,
                                     std::chrono::milliseconds cap = std::chrono::minutes(5));

}  // namespace dnsh
