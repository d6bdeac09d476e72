#include "http/bearer.hpp"

#include <Poco/String.h>

#include <string>

namespace dnsh {

std::optional<std::string_view> bearerToken(std::string_view authorization) {
    constexpr std::string_view kScheme = "Bearer";
    if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ')
        return std::nullopt;
    const std::string scheme(authorization.substr(0, kScheme.size()));
    if (Poco::icompare(scheme, std::string(kScheme)) != 0) return std::nullopt;
    const std::size_t token = authorization.find_first_not_of(' ', kScheme.size());
    if (token == std::string_view::npos) return std::nullopt;
    return authorization.substr(token);
}

}  // namespace dnsh
