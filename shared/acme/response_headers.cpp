#include "acme/response_headers.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/String.h>

#include <algorithm>
#include <regex>
#include <sstream>

namespace dnsh::acme {

std::optional<std::chrono::seconds> parseRetryAfter(const std::string& value,
                                                    std::chrono::system_clock::time_point now) {
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string::npos) {
        if (value.size() > 9) return std::chrono::seconds(999999999);
        return std::chrono::seconds(std::stol(value));
    }
    // RFC 9110 §5.6.7: IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the form senders must use
    // (Poco's parser alone would take "-1" for a date).
    static const std::regex imfFixdate(
        R"(^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$)");
    if (!std::regex_match(value, imfFixdate)) return std::nullopt;
    Poco::DateTime date;
    int timeZoneDifferential = 0;
    if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, value, date,
                                        timeZoneDifferential))
        return std::nullopt;
    // In microseconds: a date past 2262 (year 9999 at most) does not fit system_clock's
    // nanoseconds and would wrap into the past, "ask again now".
    const auto at = std::chrono::microseconds(
        date.timestamp().epochMicroseconds() -
        Poco::Timestamp::TimeDiff(timeZoneDifferential) * 1'000'000);
    const auto sinceEpoch =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
    if (at <= sinceEpoch) return std::chrono::seconds(0);
    const auto wait = std::chrono::ceil<std::chrono::seconds>(at - sinceEpoch);
    return std::min(wait, std::chrono::seconds(999999999));
}

std::string linkTarget(const std::vector<std::string>& linkValues, const std::string& relation) {
    for (const auto& value : linkValues) {
        // Each link: <target> then its parameters up to the next '<' (RFC 8288 §3).
        for (std::size_t open = value.find('<'); open != std::string::npos;) {
            const std::size_t close = value.find('>', open);
            if (close == std::string::npos) break;
            const std::size_t next = value.find('<', close);
            const std::string parameters = value.substr(close + 1, next - close - 1);
            const std::size_t rel = parameters.find("rel=");
            if (rel != std::string::npos) {
                // rel="a b" (quoted, one or more relation types) or rel=a (a token).
                std::size_t from = rel + 4;
                std::string types;
                if (from < parameters.size() && parameters[from] == '"') {
                    const std::size_t end = parameters.find('"', from + 1);
                    types = parameters.substr(from + 1, end - from - 1);
                } else {
                    types = parameters.substr(from, parameters.find_first_of(";, ", from) - from);
                }
                std::istringstream words(types);
                for (std::string word; words >> word;)
                    if (Poco::icompare(word, relation) == 0)
                        return value.substr(open + 1, close - open - 1);
            }
            open = next;
        }
    }
    return "";
}

}  // namespace dnsh::acme
