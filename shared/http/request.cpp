#include "http/request.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "crypto/random.hpp"

namespace dnsh {

const std::string& Request::param(const std::string& name) const {
    const auto found = params.find(name);
    if (found == params.end()) throw std::logic_error("route has no parameter " + name);
    return found->second;
}

std::map<std::string, std::string> parseQueryString(const std::string& text) {
    std::map<std::string, std::string> query;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t amp = text.find('&', start);
        const std::string piece =
            text.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        if (!piece.empty()) {
            const std::size_t eq = piece.find('=');
            std::string name, value;
            try {
                Poco::URI::decode(piece.substr(0, eq), name, true);
                if (eq != std::string::npos) Poco::URI::decode(piece.substr(eq + 1), value, true);
            } catch (const Poco::Exception&) {
                throw Error(ErrorCode::BadRequest, "malformed query string");
            }
            // Which of two values counts would be a guess (the last one did: `status=bogus&
            // status=pending` listed pending domains past the 400 for bogus, `status=pending&
            // status=verified` only the verified ones), as for a JSON body's keys (json_body.cpp).
            if (!query.emplace(name, std::move(value)).second)
                throw Error(ErrorCode::BadRequest,
                            "query parameter " + name.substr(0, 40) + " given more than once");
        }
        if (amp == std::string::npos) break;
        start = amp + 1;
    }
    return query;
}

bool matchRoute(const std::string& pattern, const std::string& path,
                std::map<std::string, std::string>& params) {
    // Segment by segment, both walked together as views: no vector of copies of each (every
    // request is matched against its handler's routes; callgrind put the split copies at ~4,000
    // instructions of a GET /domains/{id}). A leading '/' is not a segment; an empty segment
    // (a trailing or doubled '/') is one, so "/domains/x/" has three and matches no two-segment
    // pattern.
    auto withoutLeadingSlash = [](std::string_view text) {
        if (!text.empty() && text.front() == '/') text.remove_prefix(1);
        return text;
    };
    std::string_view want = withoutLeadingSlash(pattern);
    std::string_view have = withoutLeadingSlash(path);
    std::map<std::string, std::string> found;
    while (true) {
        const std::size_t wantEnd = want.find('/');
        const std::size_t haveEnd = have.find('/');
        const std::string_view wanted = want.substr(0, wantEnd);
        const std::string_view given = have.substr(0, haveEnd);
        if (wanted.size() > 2 && wanted.front() == '{' && wanted.back() == '}') {
            if (given.empty()) return false;
            found[std::string(wanted.substr(1, wanted.size() - 2))] = std::string(given);
        } else if (wanted != given) {
            return false;
        }
        // One has more segments than the other.
        if ((wantEnd == std::string_view::npos) != (haveEnd == std::string_view::npos))
            return false;
        if (wantEnd == std::string_view::npos) break;
        want.remove_prefix(wantEnd + 1);
        have.remove_prefix(haveEnd + 1);
    }
    params = std::move(found);
    return true;
}

std::string chooseRequestId(const std::string& fromClient) {
    const bool sane = !fromClient.empty() && fromClient.size() <= 128 &&
                      std::all_of(fromClient.begin(), fromClient.end(), [](unsigned char c) {
                          return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
                      });
    return sane ? fromClient : newRequestId();
}

std::string newRequestId() {
    // Unique, not secret: a random prefix per process and a counter. No CSPRNG call per request
    // (OpenSSL's RAND_bytes checks getpid() and runs a DRBG every time).
    static const std::string processPrefix = randomHex(8);
    static std::atomic<unsigned long long> counter{0};
    // The counter as 16 hex digits (snprintf's format parsing cost ~1,000 instructions a
    // request, callgrind).
    return processPrefix + lowerHex(static_cast<std::uint64_t>(++counter));
}

bool isJsonContentType(const std::string& contentType) {
    std::string mediaType = contentType.substr(0, contentType.find(';'));
    while (!mediaType.empty() && std::isspace(static_cast<unsigned char>(mediaType.back())))
        mediaType.pop_back();
    std::size_t first = 0;
    while (first < mediaType.size() && std::isspace(static_cast<unsigned char>(mediaType[first])))
        ++first;
    mediaType = mediaType.substr(first);
    std::transform(mediaType.begin(), mediaType.end(), mediaType.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return mediaType == "application/json";
}

}  // namespace dnsh
