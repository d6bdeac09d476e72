#pragma once
// Between sql.cpp (runSql, results) and prepared_statements.cpp (each connection's named prepared
// statements) only: runSql's path through a named statement, and the result checks both make.
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "db/sql.hpp"

namespace dnsh::sql_internal {

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Throws the SqlError of a failed result (throwSqlError).
[[noreturn]] void fail(PGconn* connection, PGresult* result);

// A command or query that worked; false for no result at all.
bool succeeded(PGresult* result);

// False after usePreparedStatements(connection, false) (DATABASE_PREPARE=off).
bool preparedStatementsEnabled(PGconn* connection);

// Runs `sql` with `values` (text, nullptr for NULL) as the connection's named prepared statement:
// prepared at its first use, and again once a migration outdated it (SQLSTATE 0A000, runSql).
SqlRows runPreparedStatement(PGconn* connection, const std::string& sql,
                             const std::vector<const char*>& values, int resultFormat);

}  // namespace dnsh::sql_internal
