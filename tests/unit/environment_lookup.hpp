#pragma once
// loadConfig's view of an environment given as a map (the unit tests' environments).
#include <map>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace dnsh::test {

inline EnvironmentLookup lookupIn(const std::map<std::string, std::string>& environment) {
    return [environment](const std::string& name) -> std::optional<std::string> {
        const auto found = environment.find(name);
        if (found == environment.end()) return std::nullopt;
        return found->second;
    };
}

}  // namespace dnsh::test
