// The order budget of each CA account (issuance/order_budget.hpp) against the real PostgreSQL, on
// a scratch database of the test server: spent down and refused with the wait until the next
// order, refilled with time, never overspent by concurrent processes, refunded, read for
// /metrics with the refill applied and nothing written.
#include "issuance/order_budget.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/database.hpp"
#include "metrics/exposition.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

const std::string kCa = "https://acme.ca.test/directory";

BudgetDecision spend(ScratchDatabase& scratch, const std::string& ca, OrderBudgetSpec spec) {
    return scratch.database().withSession(
        [&](Poco::Data::Session& session) { return spendOrder(session, ca, spec); });
}

double refund(ScratchDatabase& scratch, const std::string& ca, OrderBudgetSpec spec) {
    return scratch.database().withSession(
        [&](Poco::Data::Session& session) { return refundOrder(session, ca, spec); });
}

std::vector<BudgetLevel> levels(ScratchDatabase& scratch) {
    return scratch.database().withSession(
        [](Poco::Data::Session& session) { return budgetLevels(session); });
}

std::string scrape(ScratchDatabase& scratch) {
    return scratch.database().withSession(
        [](Poco::Data::Session& session) { return renderMetrics(session, {}, Webhooks::On); });
}

// The value of the sample `series` (name and labels as exposed); -1 when there is none.
double sampleValue(const std::string& text, const std::string& series) {
    const std::size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// `ca`'s bucket as if `elapsed` had passed since it was last written: the refill runs from
// computed_at on the database's clock, so the cases move that back instead of sleeping (a
// loaded machine would stretch a sleep and the windows after it). `ca` holds no quote.
void age(ScratchDatabase& scratch, const std::string& ca, milliseconds elapsed) {
    const std::string shift = "interval '" + std::to_string(elapsed.count()) + " milliseconds'";
    scratch.run("UPDATE ca_order_budgets SET computed_at = computed_at - " + shift +
                ", empty_since = empty_since - " + shift + " WHERE directory_url = '" + ca + "'");
}

}  // namespace

TEST_CASE("order budget: spent down to zero, then refused until one order is back") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    const OrderBudgetSpec spec{3, 1h};
    for (int expected = 2; expected >= 0; --expected) {
        const BudgetDecision decision = spend(scratch, kCa, spec);
        CAPTURE(expected);
        CHECK(decision.granted);
        CHECK(decision.retryAfter == 0ms);
        // Starts full; a few milliseconds of refill at 3 per hour are a few millionths.
        CHECK(decision.remaining == doctest::Approx(expected).epsilon(0.001));
    }
    const BudgetDecision refused = spend(scratch, kCa, spec);
    CHECK_FALSE(refused.granted);
    CHECK(refused.remaining < 0.01);
    // One order of 3 per hour is back 20 minutes after the bucket emptied.
    CHECK(refused.retryAfter <= milliseconds(20min));
    CHECK(refused.retryAfter > milliseconds(20min) - 10s);
    // Refused again: the wait shrinks, it does not restart.
    const BudgetDecision again = spend(scratch, kCa, spec);
    CHECK_FALSE(again.granted);
    CHECK(again.retryAfter <= refused.retryAfter);
    CHECK(scratch.text("SELECT count(*) FROM ca_order_budgets") == "1");
}

TEST_CASE("order budget: refilled continuously at orders/period, never above orders") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    // One order an hour: the real time between statements is a rounding error of the refill.
    const OrderBudgetSpec spec{2, 2h};
    CHECK(spend(scratch, kCa, spec).granted);
    CHECK(spend(scratch, kCa, spec).granted);
    const BudgetDecision refused = spend(scratch, kCa, spec);
    REQUIRE_FALSE(refused.granted);
    CHECK(refused.retryAfter > milliseconds(1h) - 1min);
    CHECK(refused.retryAfter <= milliseconds(1h));

    // The wait it named, and a minute: one order back, and only one.
    age(scratch, kCa, refused.retryAfter + 1min);
    const BudgetDecision refilled = spend(scratch, kCa, spec);
    CHECK(refilled.granted);
    CHECK(refilled.remaining < 0.5);

    // Two and a half periods idle: full at 2, not 5.
    age(scratch, kCa, 5h);
    const BudgetDecision full = spend(scratch, kCa, spec);
    CHECK(full.granted);
    CHECK(full.remaining == doctest::Approx(1).epsilon(0.01));
}

TEST_CASE("order budget: 20 concurrent spenders over their own sessions get exactly the budget") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    const OrderBudgetSpec spec{5, 1h};
    constexpr int kSpenders = 20;
    // One connection each, as separate handler processes and replicas have; all connected first,
    // so the spends meet at the row instead of at connection setup.
    std::vector<std::unique_ptr<Database>> databases;
    for (int i = 0; i < kSpenders; ++i) {
        databases.push_back(std::make_unique<Database>(scratch.url()));
        databases.back()->withSession(
            [](Poco::Data::Session& session) { return runSql(session, "SELECT 1").size(); });
    }
    std::atomic<int> granted{0}, refused{0}, failed{0};
    std::latch start(kSpenders);
    std::vector<std::thread> spenders;
    for (int i = 0; i < kSpenders; ++i)
        spenders.emplace_back([&, i] {
            start.arrive_and_wait();
            try {
                const BudgetDecision decision = databases[i]->withSession(
                    [&](Poco::Data::Session& session) { return spendOrder(session, kCa, spec); });
                (decision.granted ? granted : refused)++;
                if (!decision.granted && decision.retryAfter <= 0ms) failed++;
            } catch (...) {
                failed++;
            }
        });
    for (auto& spender : spenders) spender.join();
    CHECK(failed.load() == 0);
    CHECK(granted.load() == 5);
    CHECK(refused.load() == kSpenders - 5);
    CHECK(std::stod(scratch.text("SELECT tokens FROM ca_order_budgets")) < 0.01);
}

TEST_CASE("order budget: a refund gives one order back, up to the budget") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    const OrderBudgetSpec spec{2, 1h};
    // No row yet: full, and a refund does not make it fuller (nor a row).
    CHECK(refund(scratch, kCa, spec) == 2);
    CHECK(scratch.text("SELECT count(*) FROM ca_order_budgets") == "0");

    CHECK(spend(scratch, kCa, spec).granted);
    CHECK(spend(scratch, kCa, spec).granted);
    CHECK_FALSE(spend(scratch, kCa, spec).granted);
    CHECK(scratch.text("SELECT empty_since IS NOT NULL FROM ca_order_budgets") == "t");

    // The CA never created the order: its token is back, and the bucket no longer empty.
    CHECK(refund(scratch, kCa, spec) == doctest::Approx(1).epsilon(0.001));
    CHECK(scratch.text("SELECT empty_since IS NULL FROM ca_order_budgets") == "t");
    CHECK(spend(scratch, kCa, spec).granted);
    CHECK_FALSE(spend(scratch, kCa, spec).granted);

    CHECK(refund(scratch, kCa, spec) == doctest::Approx(1).epsilon(0.001));
    CHECK(refund(scratch, kCa, spec) == doctest::Approx(2).epsilon(0.001));
    CHECK(refund(scratch, kCa, spec) == 2);  // never above the budget
}

TEST_CASE("order budget: levels of every CA refilled at read time, with how long it was empty") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    CHECK(levels(scratch).empty());
    const std::string other = "https://other.ca.test/dir";
    spend(scratch, kCa, {2, 2h});  // one order an hour
    spend(scratch, kCa, {2, 2h});
    spend(scratch, other, {5, 1h});
    // Empty for 36 minutes.
    age(scratch, kCa, 36min);
    const std::string stored = scratch.text(
        "SELECT tokens || ' ' || computed_at || ' ' || empty_since FROM ca_order_budgets "
        "WHERE directory_url = '" + kCa + "'");

    const std::vector<BudgetLevel> read = levels(scratch);
    REQUIRE(read.size() == 2);
    const BudgetLevel& empty = read[0];  // by URL: "https://acme..." before "https://other..."
    CHECK(empty.directoryUrl == kCa);
    CHECK(empty.spec.orders == 2);
    CHECK(empty.spec.period == 2h);
    // 36 minutes at one order an hour, applied as it was read: over half an order, still empty.
    CHECK(empty.remaining > 0.59);
    CHECK(empty.remaining < 1);
    CHECK(empty.emptySince.has_value());
    CHECK(empty.emptySeconds >= 36 * 60);
    CHECK(empty.emptySeconds < 36 * 60 + 300);
    const BudgetLevel& spent = read[1];
    CHECK(spent.directoryUrl == other);
    CHECK(spent.remaining == doctest::Approx(4).epsilon(0.001));
    CHECK_FALSE(spent.emptySince.has_value());
    CHECK(spent.emptySeconds == 0);
    // Reading wrote nothing.
    CHECK(scratch.text("SELECT tokens || ' ' || computed_at || ' ' || empty_since FROM "
                       "ca_order_budgets WHERE directory_url = '" + kCa + "'") == stored);

    // Refilled past one order: not empty any more, though no spend has written it.
    age(scratch, kCa, 30min);
    const BudgetLevel refilled = levels(scratch)[0];
    CHECK(refilled.remaining >= 1);
    CHECK_FALSE(refilled.emptySince.has_value());
    CHECK(refilled.emptySeconds == 0);
}

TEST_CASE("order budget: /metrics has each CA's level and empty time, its URL escaped") {
    ScratchDatabase scratch("dnsh_budget");
    scratch.migrate();
    CHECK_FALSE(contains(scrape(scratch), "dnsh_ca_order_budget"));

    const std::string odd = "https://ca.test/dir\"quoted\"\\back";
    const std::string oddLabel = "{ca=\"https://ca.test/dir\\\"quoted\\\"\\\\back\"}";
    const std::string label = "{ca=\"" + kCa + "\"}";
    spend(scratch, odd, {5, 1h});
    spend(scratch, kCa, {1, 1h});
    std::this_thread::sleep_for(100ms);
    const std::string text = scrape(scratch);
    INFO(text);
    CHECK(contains(text, "# TYPE dnsh_ca_order_budget_remaining gauge\n"));
    CHECK(contains(text, "# TYPE dnsh_ca_order_budget_empty_seconds gauge\n"));
    CHECK(sampleValue(text, "dnsh_ca_order_budget_remaining" + oddLabel) ==
          doctest::Approx(4).epsilon(0.001));
    CHECK(sampleValue(text, "dnsh_ca_order_budget_empty_seconds" + oddLabel) == 0);
    CHECK(sampleValue(text, "dnsh_ca_order_budget_remaining" + label) < 0.01);
    CHECK(sampleValue(text, "dnsh_ca_order_budget_empty_seconds" + label) >= 0.1);
    CHECK(sampleValue(text, "dnsh_ca_order_budget_empty_seconds" + label) < 5);
}
