#include "http/request.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cctype>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "crypto/random.hpp"

namespace dnsh {

namespace {

std::vector<std::string> splitPath(const std::string& path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    if (!path.empty() && path.front() == '/') start = 1;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        segments.push_back(
            path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return segments;
}

}  // namespace

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
            query[name] = value;
        }
        if (amp == std::string::npos) break;
        start = amp + 1;
    }
    return query;
}

bool matchRoute(const std::string& pattern, const std::string& path,
                std::map<std::string, std::string>& params) {
    const auto expected = splitPath(pattern);
    const auto actual = splitPath(path);
    if (expected.size() != actual.size()) return false;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const std::string& want = expected[i];
        if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
            if (actual[i].empty()) return false;
            found[want.substr(1, want.size() - 2)] = actual[i];
        } else if (want != actual[i]) {
            return false;
        }
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
    char suffix[17];
    std::snprintf(suffix, sizeof(suffix), "%016llx", ++counter);
    return processPrefix + suffix;
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
