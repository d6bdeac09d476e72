// DATABASE_URL values on their way to libpq through Poco 1.11's PostgreSQL connector, against the
// test stack's PostgreSQL: the connector splits its connection string at every space, so a value
// holding one (options=-c search_path=..., the usual way to give the service a schema of its own)
// cannot reach libpq. loadConfig refuses it, naming the keyword and what to use instead, and no
// log line ever quotes the password.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/captured_stderr.hpp"
#include "support/scoped_environment.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

std::string percentEncoded(const std::string& value) {
    std::string out;
    for (const unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out.push_back(static_cast<char>(c));
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", c);
            out += escaped;
        }
    }
    return out;
}

// The test stack's password when its URL has one (a deploy/up stack), else one of the test's
// own (the stack's socket is trusted, so any password connects).
std::string knownPassword() {
    for (const auto& [keyword, value] : connectionParameters(databaseUrl()))
        if (keyword == "password") return value;
    return "Pw4-url-space-test";
}

// The test stack's DATABASE_URL as a URI with `password` and `extra` (URI query parameters,
// already encoded) added.
std::string stackUrlWith(const std::string& password, const std::string& extra) {
    std::string query;
    for (const auto& [keyword, value] : connectionParameters(databaseUrl()))
        if (keyword != "password") query += keyword + "=" + percentEncoded(value) + "&";
    query += "password=" + percentEncoded(password);
    if (!extra.empty()) query += "&" + extra;
    return "postgresql://?" + query;
}

EnvironmentLookup lookupWith(const std::string& url) {
    return [url](const std::string& name) -> std::optional<std::string> {
        if (name == "DATABASE_URL") return url;
        return std::nullopt;
    };
}

}  // namespace

TEST_CASE(
    "DATABASE_URL: a value with a space is refused at load naming its keyword, and no log line "
    "quotes the password") {
    const std::string password = knownPassword();
    const std::string url = stackUrlWith(password, "options=-c%20search_path%3Dpublic");

    std::string refusal;
    try {
        loadConfig(lookupWith(url));
    } catch (const ConfigError& e) {
        refusal = e.what();
    }
    INFO("loadConfig said: " << refusal);
    CHECK(refusal.find("DATABASE_URL") != std::string::npos);
    CHECK(refusal.find("the value of options holds a space") != std::string::npos);
    CHECK(refusal.find("PGOPTIONS") != std::string::npos);
    CHECK(refusal.find(password) == std::string::npos);
    CHECK(refusal.find("search_path") == std::string::npos);

    // A program that opens a session on it all the same (not through loadConfig): the URL is
    // not handed to Poco's connector (which would mangle it, leak the failed PGconn and quote
    // the password in libpq's message): 503, the log naming the keyword only.
    std::optional<ErrorCode> failure;
    const std::string log = capturedStderr([&] {
        Database database(url);
        try {
            database.session();
        } catch (const Error& e) {
            failure = e.code();
        }
    });
    INFO("log: " << log);
    CHECK(failure == ErrorCode::DatabaseUnavailable);
    CHECK(log.find("database unavailable") != std::string::npos);
    CHECK(log.find("the value of options holds a space") != std::string::npos);
    CHECK(log.find(password) == std::string::npos);
}

TEST_CASE("DATABASE_URL: options with a space go in PGOPTIONS, and connect") {
    const std::string password = knownPassword();
    const std::string url = stackUrlWith(password, "");
    const ScopedEnvironmentVariable options("PGOPTIONS", "-c search_path=public");
    const Config config = loadConfig(lookupWith(url));
    Database database(config.databaseUrl, config.databaseLimits);
    const std::string log = capturedStderr([&] {
        CHECK(database.withSession([](Poco::Data::Session& session) {
            return runSql(session, "SELECT current_setting('search_path') AS search_path")
                .text(0, "search_path");
        }) == "public");
    });
    CHECK(log.find(password) == std::string::npos);
}

TEST_CASE("DATABASE_URL: options with a space that the connector keeps whole (no password or port "
          "in the URL) still starts and connects") {
    // The stack's URL without password and port (libpq takes the port from PGPORT): nothing
    // sorts between options' two pieces, so Poco's split puts them back side by side.
    std::string query;
    std::string port = "5432";
    for (const auto& [keyword, value] : connectionParameters(databaseUrl())) {
        if (keyword == "port") port = value;
        if (keyword != "password" && keyword != "port")
            query += keyword + "=" + percentEncoded(value) + "&";
    }
    const std::string url = "postgresql://?" + query + "options=-c%20search_path%3Dpublic";
    const ScopedEnvironmentVariable pgPort("PGPORT", port);
    std::string refusal;
    std::string searchPath;
    try {
        const Config config = loadConfig(lookupWith(url));
        Database database(config.databaseUrl, config.databaseLimits);
        searchPath = database.withSession([](Poco::Data::Session& session) {
            return runSql(session, "SELECT current_setting('search_path') AS search_path")
                .text(0, "search_path");
        });
    } catch (const std::exception& e) {
        refusal = e.what();
    }
    INFO("refused or failed: " << refusal);
    CHECK(refusal.empty());
    CHECK(searchPath == "public");
}
