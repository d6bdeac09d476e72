#include "edge/edge_names.hpp"

#include <stdexcept>

namespace dnsh {

std::string edgeBaseName(const std::string& domainName) {
    std::string name = domainName;
    if (name.rfind("*.", 0) == 0) name = "_wildcard." + name.substr(2);
    // The API stores LDH labels only (A-labels for IDNs); anything else is refused here rather
    // than trusted, since the name becomes a path.
    const bool safe =
        !name.empty() && name.size() <= 253 + 8 && name.front() != '.' &&
        name.find("..") == std::string::npos &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") == std::string::npos;
    if (!safe) throw std::invalid_argument("not a domain name the edge can use: " + domainName);
    return name;
}

std::string edgeFileName(const std::string& domainName) {
    return edgeBaseName(domainName) + ".pem";
}

}  // namespace dnsh
