#include "metrics/counter_store.hpp"

#include <Poco/Data/Statement.h>

#include <algorithm>

#include "db/database.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// Rows per statement: three parameters each, far below PostgreSQL's 65535.
constexpr std::size_t kRowsPerStatement = 500;

}  // namespace

void addToStoredCounters(Poco::Data::Session& session, const std::vector<CounterDelta>& deltas) {
    if (deltas.empty()) return;
    executeScript(session, "BEGIN");
    try {
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
        executeScript(session, "COMMIT");
    } catch (...) {
        try {
            executeScript(session, "ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

std::vector<CounterDelta> readStoredCounters(Poco::Data::Session& session) {
    std::vector<std::string> names, labels;
    std::vector<double> values;
    session << "SELECT name, labels, value FROM metric_counters ORDER BY name, labels", into(names),
        into(labels), into(values), now;
    std::vector<CounterDelta> totals;
    totals.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
        totals.push_back({names[i], labels[i], values[i]});
    return totals;
}

}  // namespace dnsh
