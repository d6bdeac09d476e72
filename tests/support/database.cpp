#include "support/database.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "db/database.hpp"
#include "support/test_env.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh::test {

namespace {

Database& testDatabase() {
    static Database database(databaseUrl());
    return database;
}

}  // namespace

std::string scalar(const std::string& sql) {
    return testDatabase().withSession([&](Poco::Data::Session& session) {
        std::vector<Poco::Nullable<std::string>> values;
        session << "SELECT (" + sql + ")::text", into(values), now;
        return values.empty() || values[0].isNull() ? std::string() : values[0].value();
    });
}

long long count(const std::string& sql) {
    const std::string text = scalar(sql);
    return text.empty() ? 0 : std::stoll(text);
}

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

long long postgresLogLines(const std::string& text) {
    const char* dir = std::getenv("DNSH_TEST_DIR");
    if (dir == nullptr) return -1;
    std::ifstream log(std::string(dir) + "/postgres/postgres.log");
    if (!log) return -1;
    long long found = 0;
    std::string line;
    while (std::getline(log, line))
        if (line.find(text) != std::string::npos) ++found;
    return found;
}

void execute(const std::string& sql) {
    testDatabase().withSession([&](Poco::Data::Session& session) {
        executeScript(session, sql);
        return true;
    });
}

}  // namespace dnsh::test
