#include "config/profile_name.hpp"

#include <algorithm>

namespace dnsh {

bool validProfileName(std::string_view name) {
    // Let's Encrypt's are "classic", "tlsserver", "shortlived"; the draft sets no syntax.
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

}  // namespace dnsh
