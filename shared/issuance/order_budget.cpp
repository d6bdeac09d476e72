#include "issuance/order_budget.hpp"

#include <stdexcept>

#include "db/sql.hpp"

namespace dnsh {

namespace {

// The tokens of row `b` refilled from b.computed_at to this statement's time at
// `capacity`/`periodMs` per millisecond, up to `capacity` (SQL expressions). statement_timestamp()
// rather than now(): a spend inside a longer transaction still sees the time it runs at. Never
// negative: a spender whose statement started before the last writer's refills nothing.
std::string refilled(const std::string& capacity, const std::string& periodMs) {
    return "least(" + capacity + "::float8, b.tokens + greatest(0::float8, extract(epoch FROM "
           "statement_timestamp() - b.computed_at)::float8) * 1000 * " + capacity +
           "::float8 / " + periodMs + "::float8)";
}

// What this statement's parameters say ($2: orders, $3: period in ms), and what the row keeps.
const std::string kRefilledBySpec = refilled("$2::integer", "$3::bigint");
const std::string kRefilledByRow = refilled("b.capacity", "b.period_ms");

const std::string kLater = "greatest(b.computed_at, statement_timestamp())";

// A bucket left with fewer than one token is empty: since before this statement when it was
// already empty before the spend (nothing could be granted in between), since now otherwise.
std::string emptySince(const std::string& tokensAfter) {
    return "CASE WHEN " + tokensAfter + " >= 1 THEN NULL WHEN " + kRefilledBySpec +
           " < 1 THEN coalesce(b.empty_since, statement_timestamp()) "
           "ELSE statement_timestamp() END";
}

std::string spendSql() {
    const std::string& r = kRefilledBySpec;
    const std::string after = "(CASE WHEN " + r + " >= 1 THEN " + r + " - 1 ELSE " + r + " END)";
    // The conflicting row is locked and read at its latest committed version (READ COMMITTED), so
    // concurrent spends queue on it: each refills and spends from the one before.
    return "INSERT INTO ca_order_budgets AS b (directory_url, capacity, period_ms, tokens, "
           "computed_at, empty_since, last_spend_granted) "
           "VALUES ($1, $2::integer, $3::bigint, $2::integer - 1, statement_timestamp(), "
           "CASE WHEN $2::integer - 1 < 1 THEN statement_timestamp() END, true) "
           "ON CONFLICT (directory_url) DO UPDATE SET capacity = EXCLUDED.capacity, "
           "period_ms = EXCLUDED.period_ms, tokens = " + after + ", computed_at = " + kLater +
           ", empty_since = " + emptySince(after) + ", last_spend_granted = " + r + " >= 1 "
           "RETURNING last_spend_granted AS granted, tokens AS remaining, "
           "CASE WHEN last_spend_granted THEN 0 "
           "ELSE greatest(1, ceil((1 - tokens) * period_ms / capacity))::bigint END "
           "AS retry_after_ms";
}

std::string refundSql() {
    const std::string after = "least($2::integer::float8, " + kRefilledBySpec + " + 1)";
    return "UPDATE ca_order_budgets AS b SET capacity = $2::integer, period_ms = $3::bigint, "
           "tokens = " + after + ", computed_at = " + kLater + ", empty_since = " +
           emptySince(after) + " WHERE directory_url = $1 RETURNING tokens AS remaining";
}

std::string levelsSql() {
    const std::string& r = kRefilledByRow;
    return "SELECT directory_url, capacity, period_ms, " + r + " AS remaining, "
           "CASE WHEN " + r + " < 1 THEN (extract(epoch FROM empty_since) * 1000000)::bigint END "
           "AS empty_since_us, "
           "CASE WHEN " + r + " < 1 THEN greatest(0::float8, extract(epoch FROM "
           "statement_timestamp() - empty_since)::float8) ELSE 0 END AS empty_seconds "
           "FROM ca_order_budgets b ORDER BY directory_url";
}

std::vector<SqlValue> specParams(const std::string& directoryUrl, const OrderBudgetSpec& spec) {
    // A spec that parseOrderBudget would refuse would divide by zero or never grant.
    if (spec.orders < 1 || spec.orders > kMaxBudgetOrders || spec.period.count() <= 0)
        throw std::invalid_argument("order budget " + formatOrderBudget(spec) +
                                    " is outside 1..1000000 orders per a positive period");
    return {directoryUrl, spec.orders, static_cast<long long>(spec.period.count())};
}

}  // namespace

BudgetDecision spendOrder(Poco::Data::Session& session, const std::string& directoryUrl,
                          const OrderBudgetSpec& spec) {
    static const std::string sql = spendSql();
    const SqlRows rows = runSql(session, sql, specParams(directoryUrl, spec));
    BudgetDecision decision;
    decision.granted = rows.boolean(0, "granted");
    decision.retryAfter = std::chrono::milliseconds(rows.integer(0, "retry_after_ms"));
    decision.remaining = std::stod(rows.text(0, "remaining"));
    return decision;
}

double refundOrder(Poco::Data::Session& session, const std::string& directoryUrl,
                   const OrderBudgetSpec& spec) {
    static const std::string sql = refundSql();
    const SqlRows rows = runSql(session, sql, specParams(directoryUrl, spec));
    return rows.empty() ? spec.orders : std::stod(rows.text(0, "remaining"));
}

std::vector<BudgetLevel> budgetLevels(Poco::Data::Session& session) {
    static const std::string sql = levelsSql();
    const SqlRows rows = runSql(session, sql);
    std::vector<BudgetLevel> levels;
    for (int i = 0; i < rows.size(); ++i) {
        BudgetLevel level;
        level.directoryUrl = rows.text(i, "directory_url");
        level.spec.orders = static_cast<int>(rows.integer(i, "capacity"));
        level.spec.period = std::chrono::milliseconds(rows.integer(i, "period_ms"));
        level.remaining = std::stod(rows.text(i, "remaining"));
        if (!rows.isNull(i, "empty_since_us"))
            level.emptySince = std::chrono::system_clock::time_point(
                std::chrono::microseconds(rows.integer(i, "empty_since_us")));
        level.emptySeconds = std::stod(rows.text(i, "empty_seconds"));
        levels.push_back(std::move(level));
    }
    return levels;
}

}  // namespace dnsh
