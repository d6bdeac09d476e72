#include "config/order_budget_spec.hpp"

#include <charconv>
#include <stdexcept>

#include "config/duration.hpp"

namespace dnsh {

namespace {

constexpr const char* kFormat = "expected <count>/<duration>, e.g. 300/3h";

int parseCount(std::string_view text) {
    const std::string range = "the order count must be a whole number from 1 to " +
                              std::to_string(kMaxBudgetOrders);
    if (text.empty()) throw std::invalid_argument(std::string("no order count: ") + kFormat);
    for (char c : text)
        if (c < '0' || c > '9') throw std::invalid_argument(range);
    long long count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc() || end != text.data() + text.size() || count < 1 ||
        count > kMaxBudgetOrders)
        throw std::invalid_argument(range);
    return static_cast<int>(count);
}

}  // namespace

OrderBudgetSpec parseOrderBudget(std::string_view text) {
    const std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) throw std::invalid_argument(kFormat);
    OrderBudgetSpec spec;
    spec.orders = parseCount(text.substr(0, slash));
    try {
        spec.period = parseDuration(text.substr(slash + 1));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("the period: ") + e.what() + " (" + kFormat + ")");
    }
    return spec;
}

std::string formatOrderBudget(const OrderBudgetSpec& spec) {
    return std::to_string(spec.orders) + "/" + formatDuration(spec.period);
}

}  // namespace dnsh
