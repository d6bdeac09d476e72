// database.hpp's connection strings as text: libpq's parser, key=value, keepalives (libpq's
// messages about them redacted by config/connection_message.cpp). Nothing here connects.
#include "db/database.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace dnsh {

namespace {

std::string quoteValue(const std::string& value) {
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
    }
    return quoted + "'";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> connectionParameters(
    const std::string& databaseUrl) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(databaseUrl.c_str(), &error), &PQconninfoFree);
    if (!options) {
        std::string why = error ? error : "unparseable";
        PQfreemem(error);
        while (!why.empty() && why.back() == '\n') why.pop_back();
        // libpq's message quotes the part it could not parse, which may be the password.
        throw std::invalid_argument(redactConnectionError(why));
    }
    std::vector<std::pair<std::string, std::string>> parameters;
    for (PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option)
        if (option->val != nullptr) parameters.emplace_back(option->keyword, option->val);
    return parameters;
}

std::string toKeyValueConnectionString(const std::string& databaseUrl) {
    std::string result;
    for (const auto& [keyword, value] : connectionParameters(databaseUrl)) {
        if (!result.empty()) result += ' ';
        result += keyword + "=" + quoteValue(value);
    }
    return result;
}

std::string withKeepalives(const std::string& keyValue, const DatabaseLimits& limits) {
    const std::string padded = " " + keyValue;
    std::string result = keyValue;
    auto add = [&](const std::string& keyword, long long value) {
        if (padded.find(" " + keyword + "=") != std::string::npos) return;  // the URL's own
        if (!result.empty()) result += ' ';
        result += keyword + "=" + quoteValue(std::to_string(value));
    };
    add("keepalives", 1);
    add("keepalives_idle", limits.keepaliveIdle.count());
    add("keepalives_interval", limits.keepaliveInterval.count());
    add("keepalives_count", limits.keepaliveCount);
    // Unacknowledged data (a statement sent into a partition) fails after as long as the
    // keepalives take to give up on a silent peer.
    add("tcp_user_timeout",
        std::chrono::duration_cast<std::chrono::milliseconds>(
            limits.keepaliveIdle + limits.keepaliveInterval * limits.keepaliveCount)
            .count());
    return result;
}

}  // namespace dnsh
