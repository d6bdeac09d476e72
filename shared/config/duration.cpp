#include "config/duration.hpp"

#include <charconv>
#include <stdexcept>

namespace dnsh {

std::chrono::milliseconds parseDuration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0)
        throw std::invalid_argument("expected a number followed by ms, s, m or h, e.g. 10s");
    long long amount = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, amount);
    // Digits only: from_chars fails only past long long's range, far past the longest below.
    const bool pastLongLong = ec != std::errc();
    const std::string_view unit = text.substr(digits);
    long long factor = 0;
    if (unit == "ms")
        factor = 1;
    else if (unit == "s")
        factor = 1000;
    else if (unit == "m")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    else
        throw std::invalid_argument("unknown unit; use ms, s, m or h");
    if (!pastLongLong && amount == 0) throw std::invalid_argument("must be greater than zero");
    // Programs add a duration to their clocks (steady_clock's nanoseconds overflow after about
    // 292 years): one meant as "never" (9999999h) would wrap into the past and make a wait
    // none at all. Compared before multiplying, which could overflow long long: any number up
    // to the limit is taken, 2147483647ms (DB_STATEMENT_TIMEOUT's most) as well as 876000h.
    if (pastLongLong || amount > kLongestDuration.count() / factor)
        throw std::invalid_argument("longer than 876000h (100 years)");
    return std::chrono::milliseconds(amount * factor);
}

std::string formatDuration(std::chrono::milliseconds duration) {
    const long long ms = duration.count();
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace dnsh
