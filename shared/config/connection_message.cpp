// libpq's messages about connection strings and connections, redacted (connection_message.hpp).
#include "config/connection_message.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

namespace dnsh {

namespace {

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

}  // namespace dnsh
