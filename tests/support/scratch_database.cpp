#include "support/scratch_database.hpp"

#include <Poco/Data/Statement.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "crypto/random.hpp"
#include "db/migrations.hpp"
#include "support/database.hpp"
#include "support/test_env.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh::test {

ScratchDatabase::ScratchDatabase(const std::string& prefix) : name_(prefix + "_" + randomHex(4)) {
    execute("CREATE DATABASE " + name_);
    // libpq takes the last of a repeated keyword: same server, other database.
    url_ = databaseUrl() + " dbname=" + name_;
    // Tests load hundreds of thousands of rows in one statement here: the service's bounds
    // (DB_STATEMENT_TIMEOUT) are not for them.
    DatabaseLimits bulk;
    bulk.statementTimeout = std::chrono::minutes(10);
    bulk.lockTimeout = std::chrono::minutes(1);
    database_ = std::make_unique<Database>(url_, bulk);
}

ScratchDatabase::~ScratchDatabase() {
    database_.reset();
    try {
        execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
}

void ScratchDatabase::migrate(const std::string& last) {
    std::vector<Migration> selected;
    bool found = last.empty();
    for (const auto& migration : embeddedMigrations()) {
        if (last.empty() || migration.name <= last) selected.push_back(migration);
        found = found || migration.name == last;
    }
    // A misspelt name would quietly apply a different set: the upgrade under test would not be one.
    if (!found) throw std::invalid_argument("no migration named " + last);
    database_->withSession([&](Poco::Data::Session& session) {
        applyMigrations(session, selected);
        return true;
    });
}

void ScratchDatabase::run(const std::string& sql) {
    database_->withSession([&](Poco::Data::Session& session) {
        executeScript(session, sql);
        return true;
    });
}

std::string ScratchDatabase::text(const std::string& sql) {
    return database_->withSession([&](Poco::Data::Session& session) {
        std::vector<std::string> values;
        session << sql, into(values), now;
        return values.empty() ? std::string() : values[0];
    });
}

}  // namespace dnsh::test
