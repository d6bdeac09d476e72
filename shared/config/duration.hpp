#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace dnsh {

// Parses "500ms", "10s", "5m", "1h" (a positive integer and one unit).
// Throws std::invalid_argument with a reason when the text is not such a duration.
std::chrono::milliseconds parseDuration(std::string_view text);

std::string formatDuration(std::chrono::milliseconds duration);

}  // namespace dnsh
