#pragma once
// One table per enum gives both directions (toString / parse), so a value and its wire or
// database spelling are written once.
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace dnsh {

template <typename Enum, std::size_t N>
struct EnumNames {
    std::array<std::pair<Enum, std::string_view>, N> names;

    constexpr std::string_view toString(Enum value) const {
        for (const auto& [candidate, name] : names)
            if (candidate == value) return name;
        return "unknown";
    }

    constexpr std::optional<Enum> parse(std::string_view text) const {
        for (const auto& [candidate, name] : names)
            if (name == text) return candidate;
        return std::nullopt;
    }
};

}  // namespace dnsh
