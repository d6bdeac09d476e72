#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace dnsh {

// The longest duration parseDuration accepts: 100 years, as good as never.
inline constexpr std::chrono::milliseconds kLongestDuration = std::chrono::hours(876'000);

// Parses "500ms", "10s", "5m", "1h" (a positive integer and one unit), at most kLongestDuration.
// Throws std::invalid_argument with a reason when the text is not such a duration.
std::chrono::milliseconds parseDuration(std::string_view text);

std::string formatDuration(std::chrono::milliseconds duration);

}  // namespace dnsh
