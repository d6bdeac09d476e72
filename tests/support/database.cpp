#include "support/database.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <doctest/doctest.h>

#include <algorithm>
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

// A value of a key=value connection string, quoted as libpq reads it.
std::string connectionValue(const std::string& value) {
    std::string text = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') text.push_back('\\');
        text.push_back(c);
    }
    return text + "'";
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

std::string stackConnectionString(
    const std::optional<FirstHost>& firstHost,
    const std::vector<std::pair<std::string, std::string>>& settings) {
    const auto setHere = [&](const std::string& keyword) {
        return std::any_of(settings.begin(), settings.end(),
                           [&](const auto& setting) { return setting.first == keyword; });
    };
    std::string host, port = "5432", rest;
    for (const auto& [keyword, value] : connectionParameters(databaseUrl())) {
        if (keyword == "host")
            host = value;
        else if (keyword == "port")
            port = value;
        else if (!setHere(keyword))
            rest += " " + keyword + "=" + connectionValue(value);
    }
    if (firstHost) {
        REQUIRE_MESSAGE(!host.empty(), "the stack's DATABASE_URL names no host");
        host = firstHost->host + "," + host;
        port = std::to_string(firstHost->port) + "," + port;
    }
    for (const auto& [keyword, value] : settings)
        rest += " " + keyword + "=" + connectionValue(value);
    return "host=" + connectionValue(host) + " port=" + connectionValue(port) + rest;
}

void execute(const std::string& sql) {
    testDatabase().withSession([&](Poco::Data::Session& session) {
        executeScript(session, sql);
        return true;
    });
}

}  // namespace dnsh::test
