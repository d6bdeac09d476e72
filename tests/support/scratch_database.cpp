#include "support/scratch_database.hpp"

#include <Poco/Data/Statement.h>

#include <vector>

#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/test_env.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh::test {

ScratchDatabase::ScratchDatabase(const std::string& prefix) : name_(prefix + "_" + randomHex(4)) {
    execute("CREATE DATABASE " + name_);
    // libpq takes the last of a repeated keyword: same server, other database.
    url_ = databaseUrl() + " dbname=" + name_;
    database_ = std::make_unique<Database>(url_);
}

ScratchDatabase::~ScratchDatabase() {
    database_.reset();
    try {
        execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
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
