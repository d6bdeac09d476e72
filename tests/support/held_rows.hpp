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

}  // namespace dnsh::test
