#pragma once
// The order budget of each CA account (issue 21; README "Order budgets"): a token bucket per ACME
// directory URL in ca_order_budgets (016_order_budgets.sql), shared by every handler process
// and scheduler replica. It starts full (spec.orders), refills continuously at
// spec.orders/spec.period up to spec.orders, and each new order spends one token. Every change is
// one statement on the database's clock, so concurrent spenders never lose an update nor get
// more than the budget, whatever the processes' own clocks say.
//
// Each statement holds the CA's row until the caller's transaction ends: spend outside long
// transactions (or every order of that CA waits for it), and in READ COMMITTED (the default).
#include <Poco/Data/Session.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/order_budget_spec.hpp"

namespace dnsh {

struct BudgetDecision {
    bool granted = false;
    // When refused: how long until one token is back (at least 1 ms); zero when granted.
    std::chrono::milliseconds retryAfter{0};
    // Tokens left after this decision (fractional: the refill is continuous).
    double remaining = 0;
};

// Takes one token of `directoryUrl`'s budget, creating the bucket full when it has no row yet.
// `spec` is the budget as configured now; the row keeps it for budgetLevels.
BudgetDecision spendOrder(Poco::Data::Session& session, const std::string& directoryUrl,
                          const OrderBudgetSpec& spec);

// Gives a spent token back (up to spec.orders): for a newOrder that failed before the CA created
// an order, which must not cost budget. Returns the tokens left after it; a CA with no row is
// full and stays so.
double refundOrder(Poco::Data::Session& session, const std::string& directoryUrl,
                   const OrderBudgetSpec& spec);

struct BudgetLevel {
    std::string directoryUrl;
    OrderBudgetSpec spec;  // as of the last spend or refund
    double remaining = 0;  // refilled up to the time of reading
    // Since when fewer than one token is left (a spend would be refused); unset while one is.
    // A granted spend that leaves less than one sets it anew: under steady demand it is never
    // older than one refill interval (spec.period / spec.orders).
    std::optional<std::chrono::system_clock::time_point> emptySince;
    // How long since emptySince, by the database's clock; 0 while one token is left.
    double emptySeconds = 0;
};

// Every CA's budget as it is now (the refill applied at read time, nothing written), by URL.
std::vector<BudgetLevel> budgetLevels(Poco::Data::Session& session);

}  // namespace dnsh
