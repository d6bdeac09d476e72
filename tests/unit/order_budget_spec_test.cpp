// Order budgets in configuration (ACME_CA_<NAME>_ORDER_BUDGET, ACME_ORDER_BUDGET): "<count>/<duration>".
#include "config/order_budget_spec.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dnsh;
using std::chrono::milliseconds;

TEST_CASE("parseOrderBudget reads a count of orders and the period they refill over") {
    struct Case {
        std::string text;
        int orders;
        milliseconds period;
    };
    const std::vector<Case> cases{
        {"300/3h", 300, milliseconds(3 * 3'600'000)},  // Let's Encrypt's new-orders limit
        {"5/1m", 5, milliseconds(60'000)},
        {"1/500ms", 1, milliseconds(500)},
        {"1000000/1h", 1'000'000, milliseconds(3'600'000)},
        {"007/10s", 7, milliseconds(10'000)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        OrderBudgetSpec spec;
        REQUIRE_NOTHROW(spec = parseOrderBudget(c.text));
        CHECK(spec.orders == c.orders);
        CHECK(spec.period == c.period);
        CHECK(parseOrderBudget(formatOrderBudget(spec)).orders == spec.orders);
        CHECK(parseOrderBudget(formatOrderBudget(spec)).period == spec.period);
    }
    CHECK(formatOrderBudget({300, milliseconds(3 * 3'600'000)}) == "300/3h");
    CHECK(formatOrderBudget({5, milliseconds(90'000)}) == "5/90s");
}

TEST_CASE("parseOrderBudget refuses anything else, saying what is wrong") {
    struct Case {
        std::string text;
        std::string says;
    };
    const std::vector<Case> cases{
        {"", "expected <count>/<duration>"},
        {"300", "expected <count>/<duration>"},
        {"3h", "expected <count>/<duration>"},
        {"/3h", "no order count"},
        {"0/3h", "from 1 to 1000000"},
        {"1000001/3h", "from 1 to 1000000"},
        {"99999999999999999999/3h", "from 1 to 1000000"},
        {"-5/3h", "from 1 to 1000000"},
        {"+5/3h", "from 1 to 1000000"},
        {"2.5/3h", "from 1 to 1000000"},
        {" 300/3h", "from 1 to 1000000"},
        {"300/", "the period: expected a number"},
        {"300/0s", "the period: must be greater than zero"},
        {"300/3", "the period: unknown unit"},
        {"300/3d", "the period: unknown unit"},
        {"300/3h ", "the period: unknown unit"},
        {"300/3h/1", "the period: unknown unit"},
        {"300 / 3h", "from 1 to 1000000"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        try {
            parseOrderBudget(c.text);
            FAIL_CHECK("accepted");
        } catch (const std::invalid_argument& e) {
            const std::string message = e.what();
            CHECK_MESSAGE(message.find(c.says) != std::string::npos,
                          "\"" << message << "\" does not say \"" << c.says << "\"");
        }
    }
}
