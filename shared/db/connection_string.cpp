// database.hpp's connection strings as text: libpq's parser, key=value, keepalives, and libpq's
// messages about them redacted for a log. Nothing here connects.
#include "db/database.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
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

// Whether `word` is a connection parameter libpq knows (host, port, sslmode...): a name, never a
// value, so a message may keep it.
bool isConnectionKeyword(std::string_view word) {
    static const std::vector<std::string> keywords = [] {
        std::vector<std::string> names;
        std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(),
                                                                              &PQconninfoFree);
        for (PQconninfoOption* option = defaults.get(); option && option->keyword; ++option)
            names.emplace_back(option->keyword);
        return names;
    }();
    return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
}

}  // namespace

std::string redactConnectionError(std::string_view message) {
    // libpq quotes what it could not parse: "missing \"=\" after \"<text>\" in connection info
    // string", "invalid integer value \"<text>\" for connection option \"port\"". Quoted parts
    // stay only when they are a keyword or one punctuation character.
    std::string out;
    std::size_t position = 0;
    while (true) {
        const std::size_t open = message.find('"', position);
        if (open == std::string_view::npos) {
            out.append(message.substr(position));
            return out;
        }
        const std::size_t close = message.find('"', open + 1);
        if (close == std::string_view::npos) {  // a quote inside a value: drop the rest
            out.append(message.substr(position, open - position)).append("\"...\"");
            return out;
        }
        const std::string_view quoted = message.substr(open + 1, close - open - 1);
        const bool harmless =
            isConnectionKeyword(quoted) ||
            (quoted.size() == 1 && !std::isalnum(static_cast<unsigned char>(quoted[0])));
        out.append(message.substr(position, open - position))
            .append("\"")
            .append(harmless ? quoted : "...")
            .append("\"");
        position = close + 1;
        // libpq's own words between two quoted parts have a space on each side (or follow a
        // host as `", port 5432 failed: ...`); anything else between two quotes is the rest of a
        // value that held quote characters.
        const std::size_t next = message.find('"', position);
        if (next != std::string_view::npos && next > position) {
            const std::string_view between = message.substr(position, next - position);
            if ((between.front() != ' ' && between.substr(0, 7) != ", port ") ||
                between.back() != ' ') {
                out.append("...");
                return out;
            }
        }
    }
}

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
