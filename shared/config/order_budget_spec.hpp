#pragma once
// How many new orders one CA account may place per period ("300/3h": Let's Encrypt's 300 new
// orders per account per 3 hours, refilled continuously). The budget itself, shared by every
// process, is issuance/order_budget.hpp's.
#include <chrono>
#include <string>
#include <string_view>

namespace dnsh {

inline constexpr int kMaxBudgetOrders = 1'000'000;

struct OrderBudgetSpec {
    int orders = 0;                     // the bucket's size: 1..kMaxBudgetOrders
    std::chrono::milliseconds period{};  // time to refill it from empty: > 0
};

// Parses "<count>/<duration>" ("300/3h", "5/1m"; durations as config/duration.hpp takes them).
// Throws std::invalid_argument saying what is wrong; the caller prefixes the setting's name.
OrderBudgetSpec parseOrderBudget(std::string_view text);

// "300/3h": what parseOrderBudget reads back to the same spec.
std::string formatOrderBudget(const OrderBudgetSpec& spec);

}  // namespace dnsh
