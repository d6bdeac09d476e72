#pragma once
// Statements through libpq's extended query protocol, one named prepared statement per SQL text
// and connection: the first use on a connection prepares it (Parse), every use after that is a
// single Bind/Execute/Sync round trip. Poco Data 1.11 prepares, describes and deallocates each
// statement anew (four round trips and a fresh plan per query); the session, its transactions and
// its reconnects stay Poco's, these statements run on the same connection.
//
// Parameters are in text format: PostgreSQL infers each parameter's type from the statement (cast
// in the SQL where it cannot, e.g. `$3::bigint`). Results are text, or binary where asked for
// (SqlResults::Binary): timestamps then arrive as integers in UTC whatever the session's TimeZone
// and DateStyle, and are formatted here instead of by to_char() in the statement (the domain view
// read on every GET formats seven).
#include <Poco/Data/DataException.h>
#include <Poco/Data/Session.h>
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// One parameter: text, or SQL NULL.
class SqlValue {
public:
    SqlValue(const std::string& text) : text_(text) {}
    SqlValue(std::string&& text) : text_(std::move(text)) {}
    SqlValue(const char* text) : text_(std::string(text)) {}
    SqlValue(std::string_view text) : text_(std::string(text)) {}
    SqlValue(bool value) : text_(value ? "true" : "false") {}
    SqlValue(int value) : text_(std::to_string(value)) {}
    SqlValue(long value) : text_(std::to_string(value)) {}
    SqlValue(long long value) : text_(std::to_string(value)) {}
    SqlValue(std::nullopt_t) {}
    template <typename T>
    SqlValue(const std::optional<T>& value) {
        if (value) text_ = SqlValue(*value).text_;
    }

    const std::optional<std::string>& text() const { return text_; }

private:
    std::optional<std::string> text_;
};

// What the server said when a statement failed: its message, SQLSTATE (PostgreSQL Appendix A,
// e.g. 55P03 lock_not_available) and, for a constraint violation, the constraint's name, so
// callers tell kinds of failure apart by code and name, never by message.
class SqlError : public Poco::Data::DataException {
public:
    SqlError(const std::string& message, std::string sqlState, std::string constraint = {})
        : Poco::Data::DataException(message),
          sqlState_(std::move(sqlState)),
          constraint_(std::move(constraint)) {}
    const std::string& sqlState() const { return sqlState_; }
    const std::string& constraint() const { return constraint_; }
    // 55P03 lock_not_available: lock_timeout ran out, or a NOWAIT lock was held by another
    // transaction (which was rolled back whole).
    bool lockNotAvailable() const { return sqlState_ == "55P03"; }

private:
    std::string sqlState_;
    std::string constraint_;
};

enum class SqlResults { Text, Binary };

// Cached: a named prepared statement, planned by PostgreSQL's plan cache (custom plans for five
// executions, then the generic plan when its estimate is no worse). EachExecution: an unnamed
// statement, planned with the parameters' values every time (what plan_cache_mode =
// force_custom_plan does, for this statement only), still one round trip: for a statement whose
// good plan needs the values, or a text a connection should not keep (a list page of a size
// other than the default's, whose size is written into the text).
enum class SqlPlanning { Cached, EachExecution };

// The rows of one result, read by column name.
class SqlRows {
public:
    explicit SqlRows(PGresult* result);

    int size() const;
    bool empty() const { return size() == 0; }
    // Rows an INSERT/UPDATE/DELETE touched.
    long long affected() const;

    bool isNull(int row, std::string_view column) const;
    std::string text(int row, std::string_view column) const;
    std::optional<std::string> optionalText(int row, std::string_view column) const;
    long long integer(int row, std::string_view column) const;
    bool boolean(int row, std::string_view column) const;
    // A timestamptz column of a binary result, as RFC 3339 UTC to the second
    // ("2026-11-27T20:02:07Z", what DNSH_RFC3339 gives in SQL); NULL as nullopt.
    std::optional<std::string> rfc3339(int row, std::string_view column) const;
    // A timestamptz column of a binary result: microseconds since 1970-01-01 UTC.
    long long unixMicros(int row, std::string_view column) const;

private:
    int columnIndex(std::string_view column) const;
    std::string textAt(int row, int index) const;
    bool isBinary(int index) const;
    // The big-endian integer of a binary column (int2/int4/int8, and timestamptz's int8).
    long long binaryInteger(int row, int index) const;

    std::shared_ptr<PGresult> result_;
    // Where columnIndex found the last name: callers read a row's columns in about the order the
    // statement lists them, each once or twice (isNull, then the value), so the search starts
    // there and usually ends at the first or second name.
    mutable int lastColumn_ = 0;
    // The columns' names, measured at the first lookup.
    mutable std::vector<std::string_view> names_;
};

// Runs `sql` with `params` on the session's connection. Throws SqlError (a
// Poco::Data::DataException, as Poco's own statements throw) on any error; Database::withSession
// tells a lost connection, a timeout and the server's own state (read-only, a full disk) apart
// by its SQLSTATE. A statement prepared before a schema change that changed its result's types
// (SQLSTATE 0A000, "cached plan must not change result type") is prepared again and run once
// more outside a transaction; inside one (now aborted) it throws Error(DatabaseTimeout), a 503 to
// retry, and the next use prepares it again.
SqlRows runSql(Poco::Data::Session& session, const std::string& sql,
               const std::vector<SqlValue>& params = {}, SqlResults results = SqlResults::Text,
               SqlPlanning planning = SqlPlanning::Cached);

// `values` as one text[] parameter ($n::text[]): PostgreSQL's array input syntax, every element
// double-quoted with its quotes and backslashes escaped.
std::string textArrayLiteral(const std::set<std::string>& values);

// The session's libpq connection.
PGconn* connectionOf(Poco::Data::Session& session);

// Throws the SqlError of a failed result (or of the connection, when there is no result).
[[noreturn]] void throwSqlError(PGconn* connection, PGresult* result);

// DATABASE_PREPARE=off for this connection (Database, when it connects): behind a pooler that
// cannot keep named prepared statements (PgBouncer before 1.21 in transaction mode), each
// statement goes as an unnamed one: still one round trip, planned every time.
void usePreparedStatements(PGconn* connection, bool prepare);

// Forgets what was prepared on a connection about to be closed.
void forgetPreparedStatements(PGconn* connection);

}  // namespace dnsh
