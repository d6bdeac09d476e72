#pragma once
// What a failed statement's SQLSTATE says of the server rather than of the statement
// (PostgreSQL Appendix A): Database::withSession turns these into retryable 503s.
#include <string>

namespace dnsh {

// 25006 read_only_sql_transaction: a write on a server that takes none; 57P03
// cannot_connect_now. The session is dropped so that the next use connects (and chooses a host)
// again.
bool refusesWrites(const std::string& state);

// Classes 53 and 58: the server short of resources or failing its storage, in plain words a
// client may read; "" for any other state.
std::string resourceShortage(const std::string& state);

// 55P03 lock_not_available (lock_timeout), 40P01 deadlock_detected, 40001
// serialization_failure: the transaction met others on its rows and was rolled back whole; the
// server itself is well, and a transaction on other rows may go through.
bool rowContention(const std::string& state);

}  // namespace dnsh
