// DATABASE_URL's values as Poco's PostgreSQL connector can pass them to libpq.
#include <libpq-fe.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_variables.hpp"
#include "config/connection_message.hpp"

namespace dnsh::config_variables {

namespace {

using Parameters = std::vector<std::pair<std::string, std::string>>;

// The parameters libpq reads from a URL or a key=value string; nullopt when it cannot parse it,
// and then libpq's reason in `why` when given (unredacted: it may quote the password).
std::optional<Parameters> parsed(const std::string& connection, std::string* why = nullptr) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(connection.c_str(), &error), &PQconninfoFree);
    if (!options && why) *why = error ? error : "out of memory";
    PQfreemem(error);
    if (!options) return std::nullopt;
    Parameters parameters;
    for (const PQconninfoOption* option = options.get(); option->keyword; ++option)
        if (option->val) parameters.emplace_back(option->keyword, option->val);
    return parameters;
}

// libpq's quoting of a key=value string's value, as db/connection_string.cpp writes it.
std::string quoted(const std::string& value) {
    std::string text = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') text.push_back('\\');
        text.push_back(c);
    }
    return text + "'";
}

std::string stripped(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\n\r\f\v");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t\n\r\f\v") - first + 1);
}

// What Poco 1.11 (PostgreSQL::SessionImpl::open) hands libpq for `connection`: the string split
// at every space, quoted or not; each piece `key=value`, stripped; one value per key, the last;
// the keys in sorted order, joined by spaces. nullopt: a piece without '=', which Poco refuses.
std::optional<std::string> asPocoPassesIt(const std::string& connection) {
    std::map<std::string, std::string> pieces;
    std::size_t start = 0;
    while (start <= connection.size()) {
        std::size_t end = connection.find(' ', start);
        if (end == std::string::npos) end = connection.size();
        const std::string piece = connection.substr(start, end - start);
        const auto equals = piece.find('=');
        if (equals == std::string::npos) return std::nullopt;
        pieces[stripped(piece.substr(0, equals))] = stripped(piece.substr(equals + 1));
        if (end + 1 >= connection.size()) break;
        start = end + 1;
    }
    std::string result;
    for (const auto& [key, value] : pieces) result += key + "=" + value + " ";
    return result;
}

// DATABASE_URL's parameters as libpq reads them. One it cannot parse (?sslmod=, a keyword it
// does not know) passed the start before: the edge agent then took it for an outage and retried
// for ever, dnsh-admin (migrate too) exited 70 as for a software failure, not 78.
Parameters parametersOf(const std::string& databaseUrl) {
    std::string why;
    auto parameters = parsed(databaseUrl, &why);
    if (parameters) return std::move(*parameters);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    // Redacted as every log line of libpq's words is: it quotes what it could not parse, which
    // may be the password.
    throw ConfigError("invalid DATABASE_URL: libpq cannot parse it: " +
                      redactConnectionError(why));
}

}  // namespace

void checkDatabaseUrlParses(const std::string& databaseUrl) {
    parametersOf(databaseUrl);
}

void checkDatabaseUrl(const std::string& databaseUrl) {
    const Parameters parameters = parametersOf(databaseUrl);
    std::vector<std::string> spaced;
    for (const auto& [keyword, value] : parameters)
        if (value.find(' ') != std::string::npos) spaced.push_back(keyword);
    if (spaced.empty()) return;
    // A value with a space reaches libpq whole only when no other key sorts between its pieces
    // (options=-c search_path=x does, beside no password or port): so the string the programs
    // give Poco is passed through Poco's split here and read back. It is the URL's parameters
    // and those db/ adds when the URL has none (database.cpp, connection_string.cpp); their
    // values hold no space, only their names sort.
    std::string connection;
    std::map<std::string, bool> named;
    for (const auto& [keyword, value] : parameters) {
        connection += keyword + "=" + quoted(value) + " ";
        named[keyword] = true;
    }
    for (const char* added : {"keepalives", "keepalives_idle", "keepalives_interval",
                              "keepalives_count", "tcp_user_timeout", "connect_timeout"})
        if (!named.count(added)) connection += std::string(added) + "='1' ";
    connection.pop_back();
    const auto passed = asPocoPassesIt(connection);
    const auto received = passed ? parsed(*passed) : std::nullopt;
    bool intact = received.has_value();
    if (received) {
        std::map<std::string, std::string> values(received->begin(), received->end());
        for (const auto& [keyword, value] : parameters)
            intact = intact && values.count(keyword) && values[keyword] == value;
    }
    if (intact) return;
    // Named by its keyword only: the value may be the password. What lighttpd passes on to the
    // handlers (lighttpd.conf's var.handler_env) besides: PGOPTIONS, PGPASSFILE; any other
    // parameter goes in a libpq service file, named by PGSERVICEFILE (the service user's home is
    // /nonexistent, so no ~/.pg_service.conf).
    const std::string& keyword = spaced.front();
    const std::string instead =
        keyword == "options"    ? "PGOPTIONS in the environment instead"
        : keyword == "password" ? "a passfile instead (PGPASSFILE)"
                                : "a libpq service file instead (service=, PGSERVICEFILE)";
    throw ConfigError("invalid DATABASE_URL: the value of " + keyword +
                      " holds a space, which the PostgreSQL connector (Poco 1.11) splits apart "
                      "among this URL's other parameters, so libpq would not read it; use " +
                      instead);
}

}  // namespace dnsh::config_variables
