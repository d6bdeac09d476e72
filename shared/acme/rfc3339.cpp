#include "acme/rfc3339.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>

#include <regex>
#include <stdexcept>

namespace dnsh::acme {

namespace {

// RFC 3339 §5.6 date-time: full-date "T" partial-time time-offset, "T" and "Z" in either case
// (§5.6 NOTE). Poco's parser alone accepts "garbage" (as year 0), a bare date, a missing offset
// and trailing text, so the shape is checked first and Poco only validates ranges and converts.
const std::regex& rfc3339Shape() {
    static const std::regex shape(
        R"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))");
    return shape;
}

}  // namespace

std::chrono::system_clock::time_point parseRfc3339(const std::string& text,
                                                   const std::string& what) {
    // Its time-secfrac takes any number of digits, and libstdc++'s regex matcher recurses once
    // per character: a fraction of 100,000 digits overflows an 8 MiB stack (the scheduler
    // crashed on such an ARI window). So the length is checked before the regex reads it.
    if (text.size() > kMaxTimestampBytes)
        throw std::runtime_error(what + " is not an RFC 3339 timestamp: " +
                                 std::to_string(text.size()) + " bytes");
    if (!std::regex_match(text, rfc3339Shape()))
        throw std::runtime_error(what + " is not an RFC 3339 timestamp: \"" + text + "\"");
    Poco::DateTime dateTime;
    int offsetSeconds = 0;
    try {
        // %s takes optional fractional seconds (kept to microseconds), %z takes "Z" or ±hh:mm.
        Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, dateTime,
                                    offsetSeconds);
    } catch (const Poco::Exception& error) {
        throw std::runtime_error(what + " is not a valid time: \"" + text + "\" (" +
                                 error.displayText() + ")");
    }
    dateTime.makeUTC(offsetSeconds);
    const auto micros = std::chrono::microseconds(dateTime.timestamp().epochMicroseconds());
    // system_clock counts nanoseconds in 64 bits (about 1678..2262); a year-0001 time would
    // overflow instead of failing.
    using Clock = std::chrono::system_clock;
    if (micros < std::chrono::duration_cast<std::chrono::microseconds>(
                     Clock::time_point::min().time_since_epoch()) ||
        micros > std::chrono::duration_cast<std::chrono::microseconds>(
                     Clock::time_point::max().time_since_epoch()))
        throw std::runtime_error(what + " is out of range: \"" + text + "\"");
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(micros));
}

}  // namespace dnsh::acme
