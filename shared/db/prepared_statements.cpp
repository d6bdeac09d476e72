// Each connection's named prepared statements behind runSql: their names, preparing them, and
// preparing again one that a migration outdated (SQLSTATE 0A000).
#include "db/prepared_statements.hpp"

#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "db/commit_wait.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// Names of the statements prepared on each connection, by SQL text. A connection is identified
// by its PGconn and its server process: a PGconn freed and reallocated at the same address after
// a reconnect talks to a new backend, which has none of the old statements.
struct ConnectionKey {
    PGconn* connection;
    int backendPid;
    bool operator<(const ConnectionKey& other) const {
        return connection != other.connection ? connection < other.connection
                                              : backendPid < other.backendPid;
    }
};

class PreparedStatements {
public:
    void setEnabled(PGconn* connection, bool enabled) {
        const ConnectionKey key{connection, PQbackendPID(connection)};
        std::lock_guard lock(mutex_);
        if (enabled)
            disabled_.erase(key);
        else
            disabled_.insert(key);
    }

    bool enabled(PGconn* connection) {
        const ConnectionKey key{connection, PQbackendPID(connection)};
        std::lock_guard lock(mutex_);
        return disabled_.count(key) == 0;
    }

    // The statement's name, and whether it still has to be prepared. Names come from a count
    // that only grows: a statement forgotten (forgetStatement) may still exist on the server,
    // and a new one must not take its name.
    std::pair<std::string, bool> nameFor(PGconn* connection, const std::string& sql) {
        std::lock_guard lock(mutex_);
        auto& statements = byConnection_[{connection, PQbackendPID(connection)}];
        auto found = statements.names.find(sql);
        if (found != statements.names.end()) return {found->second, false};
        return {"dnsh_" + std::to_string(statements.named + 1), true};
    }

    void remember(PGconn* connection, const std::string& sql, const std::string& name) {
        std::lock_guard lock(mutex_);
        auto& statements = byConnection_[{connection, PQbackendPID(connection)}];
        statements.names.emplace(sql, name);
        ++statements.named;
    }

    // The next use of `sql` on the connection prepares it again, under a new name.
    void forgetStatement(PGconn* connection, const std::string& sql) {
        std::lock_guard lock(mutex_);
        byConnection_[{connection, PQbackendPID(connection)}].names.erase(sql);
    }

    void forget(PGconn* connection) {
        std::lock_guard lock(mutex_);
        for (auto it = byConnection_.begin(); it != byConnection_.end();)
            it = it->first.connection == connection ? byConnection_.erase(it) : std::next(it);
        for (auto it = disabled_.begin(); it != disabled_.end();)
            it = it->connection == connection ? disabled_.erase(it) : std::next(it);
    }

private:
    struct Statements {
        std::unordered_map<std::string, std::string> names;  // by SQL text
        unsigned long named = 0;  // names handed out on the connection so far
    };
    std::mutex mutex_;
    std::set<ConnectionKey> disabled_;  // DATABASE_PREPARE=off
    std::map<ConnectionKey, Statements> byConnection_;
};

PreparedStatements& preparedStatements() {
    static PreparedStatements instance;
    return instance;
}

// SQLSTATE 0A000 (feature_not_supported) from executing a statement prepared by an earlier call:
// PostgreSQL re-plans a prepared statement after DDL on what it reads, but its plan cache refuses
// a protocol-level prepared statement whose result columns changed type ("cached plan must not
// change result type", RevalidateCachedQuery in plancache.c: the client was told the old types
// at Parse), and does so on every execution until the statement is deallocated. A migration such
// as 021_domain_value_types (domains.id, status, ... from text to domain types) does that to
// every process that read those columns before it (an old binary during an upgrade, README
// "Upgrade"). The check comes at Bind, before anything executes.
bool outdatedByDdl(PGresult* result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    return state != nullptr && std::string_view(state) == "0A000";
}

}  // namespace

void usePreparedStatements(PGconn* connection, bool prepare) {
    preparedStatements().setEnabled(connection, prepare);
}

void forgetPreparedStatements(PGconn* connection) {
    preparedStatements().forget(connection);
}

namespace sql_internal {

bool preparedStatementsEnabled(PGconn* connection) {
    return preparedStatements().enabled(connection);
}

SqlRows runPreparedStatement(PGconn* connection, const std::string& sql,
                             const std::vector<const char*>& values, int resultFormat) {
    // Outside a transaction block a failed statement leaves the connection idle, nothing done.
    const bool inTransactionBlock = PQtransactionStatus(connection) != PQTRANS_IDLE;
    while (true) {
        const auto [name, unprepared] = preparedStatements().nameFor(connection, sql);
        if (unprepared) {
            const ResultPtr prepared(PQprepare(connection, name.c_str(), sql.c_str(),
                                               static_cast<int>(values.size()), nullptr),
                                     &PQclear);
            if (!succeeded(prepared.get())) fail(connection, prepared.get());
            preparedStatements().remember(connection, sql, name);
        }
        const int count = static_cast<int>(values.size());
        PGresult* result = runWithinCommitBound(
            connection,
            [&] {
                return PQsendQueryPrepared(connection, name.c_str(), count, values.data(),
                                           nullptr, nullptr, resultFormat);
            },
            [&] {
                return PQexecPrepared(connection, name.c_str(), count, values.data(), nullptr,
                                      nullptr, resultFormat);
            });
        if (succeeded(result)) return SqlRows(result);
        const ResultPtr owned(result, &PQclear);
        // Prepared just now: not outdated (a planner's own 0A000 stays an SqlError), and the
        // loop runs at most twice.
        if (unprepared || !outdatedByDdl(result)) fail(connection, result);
        // Outdated for good (see outdatedByDdl): forgotten, so that the next use prepares it
        // again under a new name. Outside a transaction block it is prepared and run again at
        // once, and the old name deallocated; inside one, the transaction is aborted (no
        // DEALLOCATE either): the retryable 503 of a timeout, whose retry prepares it again.
        preparedStatements().forgetStatement(connection, sql);
        logEvent(LogLevel::Warn, "prepared statement outdated by a schema change",
                 {{"statement", name}, {"in_transaction", inTransactionBlock}});
        if (inTransactionBlock)
            throw Error(ErrorCode::DatabaseTimeout,
                        "database busy: the schema changed under a statement; retry");
        // Whatever it answers: the new name does not depend on it (a lost connection fails the
        // PREPARE next).
        const ResultPtr deallocated(PQexec(connection, ("DEALLOCATE " + name).c_str()), &PQclear);
    }
}

}  // namespace sql_internal

}  // namespace dnsh
