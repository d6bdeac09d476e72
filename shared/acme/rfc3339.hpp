#pragma once
// RFC 3339 §5.6 timestamps as a CA writes them: ARI's suggestedWindow (RFC 9773 §4.2) and an
// order's expires (RFC 8555 §7.1.3). Strict, unlike PostgreSQL's or Poco's own readings, which
// take a bare date, no offset (read in some local zone), words such as "tomorrow" or trailing
// text.
#include <chrono>
#include <cstddef>
#include <string>

namespace dnsh::acme {

// RFC 3339 timestamps as CAs write them are 20 to 35 bytes; longer ones are refused unread.
inline constexpr std::size_t kMaxTimestampBytes = 64;

// `text` as the UTC time it names, fractions kept to the microsecond. Throws std::runtime_error
// naming `what` (and the text, at most kMaxTimestampBytes of it) when it is longer than
// kMaxTimestampBytes, is not full-date "T" partial-time time-offset ("T" and "Z" in either case),
// names no valid date or time, or lies outside what system_clock holds (about 1678 to 2262).
std::chrono::system_clock::time_point parseRfc3339(const std::string& text,
                                                   const std::string& what);

}  // namespace dnsh::acme
