#include "support/held_rows.hpp"

#include <doctest/doctest.h>

#include "db/sql.hpp"

namespace dnsh::test {

HeldRows::HeldRows(const std::string& databaseUrl, const std::string& lockingSelect)
    : database_(databaseUrl) {
    database_.withSession([&](Poco::Data::Session& session) {
        executeScript(session, "BEGIN");
        const SqlRows rows = runSql(session, lockingSelect);
        REQUIRE_MESSAGE(rows.size() >= 1, "nothing to hold: " << lockingSelect);
        return true;
    });
}

HeldRows::~HeldRows() {
    try {
        release();
    } catch (...) {
    }
}

void HeldRows::release() {
    if (released_) return;
    released_ = true;
    database_.withSession([&](Poco::Data::Session& session) {
        executeScript(session, "COMMIT");
        return true;
    });
}

HeldTable::HeldTable(const std::string& databaseUrl, const std::string& table,
                     const std::string& mode)
    : database_(databaseUrl) {
    database_.withSession([&](Poco::Data::Session& session) {
        executeScript(session, "BEGIN");
        executeScript(session, "LOCK TABLE " + table + " IN " + mode + " MODE");
        return true;
    });
}

HeldTable::~HeldTable() {
    try {
        release();
    } catch (...) {
    }
}

void HeldTable::release() {
    if (released_) return;
    released_ = true;
    database_.withSession([&](Poco::Data::Session& session) {
        executeScript(session, "COMMIT");
        return true;
    });
}

}  // namespace dnsh::test
