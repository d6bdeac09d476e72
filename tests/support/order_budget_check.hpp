#pragma once
// The order budget (README "Order budgets") of a CA after one order the CA created and the
// service did not use: RFC 8555 §7.4, the CA counts it, so its token stays spent. For the cases
// that run issue-certificate under ACME_ORDER_BUDGET 5/1h (or ACME_CA_<NAME>_ORDER_BUDGET).
#include <doctest/doctest.h>

#include <string>

#include "support/database.hpp"

namespace dnsh::test {

// Checks that the budget of the CA at `directoryUrl`, 5/1h and full before the case, has one
// token spent (about 4 left: the refill of the case's seconds counts too), then removes it so
// the next case at that URL starts full.
inline void checkOneOrderTokenSpent(const std::string& directoryUrl) {
    const std::string budget =
        "FROM ca_order_budgets WHERE directory_url = " + quoted(directoryUrl);
    REQUIRE(count("SELECT count(*) " + budget) == 1);
    const double left = std::stod(scalar("SELECT tokens " + budget));
    CHECK(left > 3.5);
    CHECK(left < 4.5);
    execute("DELETE " + budget);
}

}  // namespace dnsh::test
