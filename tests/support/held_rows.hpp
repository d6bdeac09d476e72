#pragma once
// A session of the test holding row locks in an open transaction until release() (or the end
// of its scope): what another session (an operator's long transaction, a concurrent writer)
// does to the code under test.
#include <string>

#include "db/database.hpp"

namespace dnsh::test {

class HeldRows {
public:
    // Opens a transaction on `databaseUrl` and runs `lockingSelect` (a SELECT ... FOR UPDATE),
    // which must lock at least one row.
    HeldRows(const std::string& databaseUrl, const std::string& lockingSelect);
    ~HeldRows();
    HeldRows(const HeldRows&) = delete;
    HeldRows& operator=(const HeldRows&) = delete;

    // Commits: the rows are free again.
    void release();

private:
    Database database_;
    bool released_ = false;
};

// A session of the test holding a whole table in `mode` (LOCK TABLE ... IN mode MODE) in an open
// transaction until release() (or the end of its scope), as a migration does: ACCESS EXCLUSIVE
// (an ALTER TABLE) makes every reader wait, even to parse a statement that names the table;
// SHARE (a CREATE INDEX without CONCURRENTLY) lets readers through and makes every writer wait.
class HeldTable {
public:
    HeldTable(const std::string& databaseUrl, const std::string& table, const std::string& mode);
    ~HeldTable();
    HeldTable(const HeldTable&) = delete;
    HeldTable& operator=(const HeldTable&) = delete;

    // Commits: the table is free again.
    void release();

private:
    Database database_;
    bool released_ = false;
};

}  // namespace dnsh::test
