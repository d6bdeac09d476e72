#include "metrics/counter_store.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>

#include "db/commit_wait.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Rows per statement: three parameters each, far below PostgreSQL's 65535.
constexpr std::size_t kRowsPerStatement = 500;

}  // namespace

bool addToStoredCounters(Poco::Data::Session& session, const CounterBatch& batch) {
    const std::vector<CounterDelta>& deltas = batch.deltas;
    beginTransaction(session);
    try {
        // No row back: this number (or a later one) is stored, the batch was added already.
        const bool alreadyStored =
            runSql(session,
                   "INSERT INTO metric_counter_batches (flusher, batch) VALUES ($1, $2::bigint) "
                   "ON CONFLICT (flusher) DO UPDATE SET batch = EXCLUDED.batch, "
                   "stored_at = now() WHERE metric_counter_batches.batch < EXCLUDED.batch "
                   "RETURNING batch",
                   {batch.flusher, std::to_string(batch.number)})
                .empty();
        if (alreadyStored) {
            executeScript(session, "ROLLBACK");
            return false;
        }
        for (std::size_t first = 0; first < deltas.size(); first += kRowsPerStatement) {
            const std::size_t last = std::min(deltas.size(), first + kRowsPerStatement);
            std::string sql = "INSERT INTO metric_counters (name, labels, value) VALUES ";
            for (std::size_t i = first; i < last; ++i) {
                const std::size_t p = (i - first) * 3;
                sql += (i == first ? "" : ", ") + std::string("($") + std::to_string(p + 1) +
                       ", $" + std::to_string(p + 2) + ", $" + std::to_string(p + 3) +
                       "::double precision)";
            }
            sql +=
                " ON CONFLICT (name, labels) DO UPDATE"
                " SET value = metric_counters.value + EXCLUDED.value, updated_at = now()";
            Poco::Data::Statement statement(session);
            statement << sql;
            for (std::size_t i = first; i < last; ++i)
                statement, bind(deltas[i].name), bind(deltas[i].labels), bind(deltas[i].value);
            statement.execute();
        }
        commitTransaction(session);
        return true;
    } catch (...) {
        rollbackQuietly(session);
        throw;
    }
}

std::vector<CounterDelta> readStoredCounters(Poco::Data::Session& session) {
    // Through runSql, as every statement of a request: its SqlError carries the SQLSTATE, so a
    // timeout here is a 503 (Database::withSession).
    const SqlRows rows = runSql(
        session, "SELECT name, labels, value FROM metric_counters ORDER BY name, labels", {});
    std::vector<CounterDelta> totals;
    totals.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row)
        totals.push_back({rows.text(row, "name"), rows.text(row, "labels"),
                          std::stod(rows.text(row, "value"))});
    return totals;
}

}  // namespace dnsh
