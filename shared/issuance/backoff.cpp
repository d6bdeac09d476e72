#include "issuance/backoff.hpp"

#include <algorithm>

namespace dnsh {

std::chrono::milliseconds retryDelay(std::chrono::milliseconds pollInterval, int retries,
                                     std::optional<std::chrono::seconds> retryAfter,
                                     std::chrono::milliseconds cap) {
    std::chrono::milliseconds delay = pollInterval;
    for (int i = 1; i < retries && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    if (retryAfter) delay = std::max<std::chrono::milliseconds>(delay, *retryAfter);
    return delay;
}

}  // namespace dnsh
