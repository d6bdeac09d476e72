#include "db/sql.hpp"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string_view>

#include "db/commit_wait.hpp"
#include "db/database.hpp"  // executeScript, rollbackQuietly
#include "db/prepared_statements.hpp"

namespace dnsh {

namespace {

constexpr Oid kTimestamptzOid = 1184;  // pg_type.oid of timestamptz, fixed in the catalog

constexpr std::string_view kValuesNotShown = "values not shown";

// A constraint violation's DETAIL (SQLSTATE class 23) repeats what was written: "Failing row
// contains (...)." or "Key (columns)=(values) already exists." (the forms of PostgreSQL's
// errdetail). Those values may be a verification token or an Idempotency-Key, and the message
// goes into log lines; the columns stay (with the constraint in the primary text, they say
// which rule failed).
bool holdsRowValues(std::string_view detail, std::string_view sqlState) {
    return sqlState.starts_with("23") || detail.starts_with("Failing row contains (") ||
           detail.starts_with("Key (");
}

std::string withoutRowValues(std::string_view detail) {
    constexpr std::string_view failingRow = "Failing row contains (";
    if (detail.starts_with(failingRow))
        return std::string(failingRow) + std::string(kValuesNotShown) + ").";
    if (const std::size_t values = detail.find(")=(");
        detail.starts_with("Key (") && values != std::string_view::npos)
        return std::string(detail.substr(0, values + 3)) + std::string(kValuesNotShown) + ").";
    return "(" + std::string(kValuesNotShown) + ")";
}

// libpq's message with the DETAIL's row values left out (holdsRowValues); the severity, the
// primary text and any other line stay as libpq wrote them. The detail is replaced as the field
// reads, so a value with a line break in it goes with the rest.
std::string redactedMessage(std::string message, PGresult* result, std::string_view sqlState) {
    const char* field = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : nullptr;
    if (field == nullptr || *field == '\0' || !holdsRowValues(field, sqlState)) return message;
    const std::string_view detail(field);
    if (const std::size_t at = message.find(detail); at != std::string::npos)
        return message.replace(at, detail.size(), withoutRowValues(detail));
    // Not found as the field reads (never seen): the primary line only.
    return message.substr(0, message.find('\n')) + "\nDETAIL:  (" + std::string(kValuesNotShown) +
           ")";
}

}  // namespace

namespace sql_internal {

[[noreturn]] void fail(PGconn* connection, PGresult* result) {
    throwSqlError(connection, result);
}

bool succeeded(PGresult* result) {
    const ExecStatusType status = PQresultStatus(result);
    return result != nullptr && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
}

}  // namespace sql_internal

using namespace sql_internal;  // what this file shares with prepared_statements.cpp

std::string textArrayLiteral(const std::set<std::string>& values) {
    std::string literal = "{";
    for (const auto& value : values) {
        if (literal.size() > 1) literal += ',';
        literal += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    return literal + "}";
}

PGconn* connectionOf(Poco::Data::Session& session) {
    auto* impl = dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(session.impl());
    if (impl == nullptr) throw std::logic_error("not a PostgreSQL session");
    return static_cast<PGconn*>(impl->handle());
}

void throwSqlError(PGconn* connection, PGresult* result) {
    std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(connection);
    if (message.empty()) message = PQerrorMessage(connection);
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    message = redactedMessage(std::move(message), result, state ? state : "");
    while (!message.empty() && message.back() == '\n') message.pop_back();
    const char* constraint =
        result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    throw SqlError(message, state ? state : "", constraint ? constraint : "");
}

SqlRows runSql(Poco::Data::Session& session, const std::string& sql,
               const std::vector<SqlValue>& params, SqlResults results, SqlPlanning planning) {
    const int resultFormat = results == SqlResults::Binary ? 1 : 0;
    PGconn* connection = connectionOf(session);
    // Writes held back (db/commit_wait.hpp): outside a block, a READ ONLY transaction of its
    // own, so that a write is refused (25006) rather than left waiting for its commit.
    if (writesHeldBack() && PQtransactionStatus(connection) == PQTRANS_IDLE) {
        // READ ONLY whatever a probe on another thread decides meanwhile: the COMMIT below is
        // then never one that waits.
        executeScript(session, "BEGIN READ ONLY");
        try {
            SqlRows rows = runSql(session, sql, params, results, planning);
            executeScript(session, "COMMIT");  // wrote nothing: nothing to wait for
            return rows;
        } catch (...) {
            rollbackQuietly(session);
            throw;
        }
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params)
        values.push_back(param.text() ? param.text()->c_str() : nullptr);
    if (planning == SqlPlanning::EachExecution || !preparedStatementsEnabled(connection)) {
        const int count = static_cast<int>(values.size());
        PGresult* result = runWithinCommitBound(
            connection,
            [&] {
                return PQsendQueryParams(connection, sql.c_str(), count, nullptr, values.data(),
                                         nullptr, nullptr, resultFormat);
            },
            [&] {
                return PQexecParams(connection, sql.c_str(), count, nullptr, values.data(),
                                    nullptr, nullptr, resultFormat);
            });
        if (!succeeded(result)) {
            const ResultPtr owned(result, &PQclear);
            fail(connection, result);
        }
        return SqlRows(result);
    }
    return runPreparedStatement(connection, sql, values, resultFormat);
}

SqlRows::SqlRows(PGresult* result) : result_(result, &PQclear) {}

int SqlRows::size() const {
    return PQntuples(result_.get());
}

long long SqlRows::affected() const {
    const char* count = PQcmdTuples(result_.get());
    return count[0] == '\0' ? 0 : std::stoll(count);
}

int SqlRows::columnIndex(std::string_view column) const {
    // Our column names are lower-case identifiers, as PostgreSQL returns them: compared as they
    // are. PQfnumber copies and case-folds the name on every call (it showed in the profile of
    // GET /domains/{id}, which reads 30 columns). The names are measured once per result
    // (PQfname's strings live as long as it): a comparison then starts with the lengths, where
    // comparing with PQfname's C string measured it again each time (a list page of 100 reads
    // ~3,200 columns by name: 20% of its instructions went to this function).
    // Searched from the last one found, wrapping around: 30 lookups by name against a 30-column
    // result took ~450 comparisons from the first column (3.5% of GET /domains/{id}'s own CPU).
    if (names_.empty()) {
        const int columns = PQnfields(result_.get());
        names_.reserve(static_cast<std::size_t>(columns));
        for (int index = 0; index < columns; ++index)
            names_.emplace_back(PQfname(result_.get(), index));
    }
    const int columns = static_cast<int>(names_.size());
    int index = lastColumn_;
    for (int step = 0; step < columns; ++step) {
        if (names_[static_cast<std::size_t>(index)] == column) return lastColumn_ = index;
        index = index + 1 == columns ? 0 : index + 1;
    }
    throw std::logic_error("no column " + std::string(column) + " in the result");
}

bool SqlRows::isNull(int row, std::string_view column) const {
    return PQgetisnull(result_.get(), row, columnIndex(column)) == 1;
}

std::string SqlRows::text(int row, std::string_view column) const {
    return textAt(row, columnIndex(column));
}

std::string SqlRows::textAt(int row, int index) const {
    return std::string(PQgetvalue(result_.get(), row, index),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, index)));
}

std::optional<std::string> SqlRows::optionalText(int row, std::string_view column) const {
    const int index = columnIndex(column);
    if (PQgetisnull(result_.get(), row, index) == 1) return std::nullopt;
    return textAt(row, index);
}

bool SqlRows::isBinary(int index) const {
    return PQfformat(result_.get(), index) == 1;
}

long long SqlRows::binaryInteger(int row, int index) const {
    const auto* bytes =
        reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, index));
    const int length = PQgetlength(result_.get(), row, index);
    if (length != 2 && length != 4 && length != 8)
        throw std::logic_error("column " + std::to_string(index) + " is not a binary integer");
    std::uint64_t value = 0;
    for (int i = 0; i < length; ++i) value = (value << 8) | bytes[i];
    // Sign-extend the narrower ones (two's complement, network byte order).
    const int unusedBits = 64 - 8 * length;
    return static_cast<long long>(value << unusedBits) >> unusedBits;
}

long long SqlRows::integer(int row, std::string_view column) const {
    const int index = columnIndex(column);
    if (isBinary(index)) return binaryInteger(row, index);
    return std::stoll(text(row, column));
}

bool SqlRows::boolean(int row, std::string_view column) const {
    const int index = columnIndex(column);
    if (isBinary(index))
        return PQgetlength(result_.get(), row, index) == 1 &&
               PQgetvalue(result_.get(), row, index)[0] == 1;
    return text(row, column) == "t";
}

long long SqlRows::unixMicros(int row, std::string_view column) const {
    const int index = columnIndex(column);
    if (!isBinary(index) || PQftype(result_.get(), index) != kTimestamptzOid)
        throw std::logic_error("column " + std::string(column) + " is not a binary timestamptz");
    // PostgreSQL counts microseconds from 2000-01-01 00:00:00 UTC.
    constexpr long long kPostgresEpochMicros = 946684800LL * 1000000;
    return binaryInteger(row, index) + kPostgresEpochMicros;
}

std::optional<std::string> SqlRows::rfc3339(int row, std::string_view column) const {
    if (isNull(row, column)) return std::nullopt;
    const long long micros = unixMicros(row, column);
    // Whole seconds, rounded down (to_char's SS drops the fraction the same way). Calendar
    // arithmetic by <chrono>: gmtime_r takes glibc's time zone lock on every call.
    using namespace std::chrono;
    const sys_seconds instant = floor<seconds>(sys_time<microseconds>(microseconds(micros)));
    const sys_days day = floor<days>(instant);
    const year_month_day date(day);
    const hh_mm_ss time(instant - day);
    char text[24];
    auto digits = [&text](int at, long long value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10)
            text[at + i] = static_cast<char>('0' + value % 10);
    };
    digits(0, static_cast<int>(date.year()), 4);
    text[4] = '-';
    digits(5, static_cast<unsigned>(date.month()), 2);
    text[7] = '-';
    digits(8, static_cast<unsigned>(date.day()), 2);
    text[10] = 'T';
    digits(11, time.hours().count(), 2);
    text[13] = ':';
    digits(14, time.minutes().count(), 2);
    text[16] = ':';
    digits(17, time.seconds().count(), 2);
    text[19] = 'Z';
    return std::string(text, 20);
}

}  // namespace dnsh
