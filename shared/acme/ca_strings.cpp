#include "acme/ca_strings.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <string_view>

namespace dnsh::acme {

bool isHttpsUrl(const std::string& url, std::size_t maxBytes) {
    if (url.empty() || url.size() > maxBytes) return false;
    // RFC 3986 §2: a URI is printable ASCII, without space and these.
    constexpr std::string_view kNotInUris = "\"<>\\^`{|}";
    for (const char c : url) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || kNotInUris.find(c) != std::string_view::npos)
            return false;
    }
    try {
        const Poco::URI uri(url);  // lowers the scheme (RFC 3986 §3.1: case-insensitive)
        return uri.getScheme() == "https" && !uri.getHost().empty();
    } catch (const Poco::Exception&) {
        return false;
    }
}

bool isChallengeToken(const std::string& token) {
    return token.size() >= kMinChallengeTokenBytes && token.size() <= kMaxChallengeTokenBytes &&
           std::all_of(token.begin(), token.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_';
           });
}

}  // namespace dnsh::acme
