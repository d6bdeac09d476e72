// The route table (http/routes.hpp) is the one list of routes: 405's Allow comes from it, and
// lighttpd.conf and CMake's handler list must say the same (so the three cannot drift).
#include "http/routes.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace dnsh;

namespace {

std::string lighttpdConf() {
    std::ifstream file(DNSH_SOURCE_DIR "/lighttpd.conf");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// "/domains/{id}/verify" -> "/domains/x/verify": a path the pattern matches.
std::string examplePath(const std::string& pattern) {
    return std::regex_replace(pattern, std::regex(R"(\{[a-z]+\})"), "0123abcd");
}

struct UrlBlock {
    std::regex url;
    std::string body;  // up to the next top-level url condition
};

std::vector<UrlBlock> urlBlocks(const std::string& conf) {
    std::vector<UrlBlock> blocks;
    const std::regex start(R"re(\n\$HTTP\["url"\] =~ "([^"]+)" \{)re");
    std::vector<std::pair<std::size_t, std::string>> found;
    for (std::sregex_iterator it(conf.begin(), conf.end(), start), end; it != end; ++it)
        found.emplace_back(static_cast<std::size_t>(it->position()), (*it)[1]);
    for (std::size_t i = 0; i < found.size(); ++i) {
        const std::size_t to = i + 1 < found.size() ? found[i + 1].first : conf.size();
        blocks.push_back(
            {std::regex(found[i].second), conf.substr(found[i].first, to - found[i].first)});
    }
    return blocks;
}

// The handler lighttpd.conf sends `method` on `path` to: in the one url block matching the path,
// the branch of a `$HTTP["request-method"] == "..."` condition naming the method, else the
// `} else {` branch (or the block's only handler). "" when no block matches.
std::string lighttpdHandler(const std::vector<UrlBlock>& blocks, const std::string& path,
                            const std::string& method) {
    const std::regex binPath(R"re(env\.DNSH_BIN_DIR \+ "/([a-z_]+)")re");
    auto firstHandler = [&](const std::string& text) {
        std::smatch found;
        return std::regex_search(text, found, binPath) ? found[1].str() : std::string();
    };
    for (const auto& block : blocks) {
        if (!std::regex_match(path, block.url)) continue;
        const std::regex condition(R"re(\$HTTP\["request-method"\] == "([A-Z]+)" \{)re");
        std::smatch found;
        if (!std::regex_search(block.body, found, condition)) return firstHandler(block.body);
        const std::size_t at = static_cast<std::size_t>(found.position(0));
        const std::size_t elseAt = block.body.find("} else", at);
        if (found[1] == method) return firstHandler(block.body.substr(at, elseAt - at));
        return firstHandler(block.body.substr(elseAt));
    }
    return "";
}

// The names in lighttpd.conf's `var.<name> = <expression>`: quoted strings in parenthesized
// lists, and other variables of the file, joined by "+".
std::set<std::string> lighttpdList(const std::string& conf, const std::string& name) {
    const std::regex definition("\nvar\\." + name + " = ([^\\n]*(\\n +[^\\n]*)*)");
    std::smatch found;
    REQUIRE_MESSAGE(std::regex_search(conf, found, definition), "no var." << name);
    const std::string expression = found[1];
    std::set<std::string> names;
    const std::regex term(R"re("([A-Z_]+)"|var\.([a-z_]+))re");
    for (std::sregex_iterator it(expression.begin(), expression.end(), term), end; it != end; ++it) {
        if ((*it)[1].matched) {
            names.insert((*it)[1]);
        } else {
            const auto inner = lighttpdList(conf, (*it)[2]);
            names.insert(inner.begin(), inner.end());
        }
    }
    return names;
}

}  // namespace

TEST_CASE("routes: the KEK only for handlers that open keys, WEBHOOK_SECRET for none, the libpq "
          "variables for all") {
    const std::string conf = lighttpdConf();
    // handler -> the variable list lighttpd copies into its environment
    std::map<std::string, std::set<std::string>> environments;
    const std::regex server(
        R"re("bin-path" => env\.DNSH_BIN_DIR \+ "/([a-z_]+)"[^)]*"bin-copy-environment" => var\.([a-z_]+))re");
    for (std::sregex_iterator it(conf.begin(), conf.end(), server), end; it != end; ++it)
        environments[(*it)[1]] = lighttpdList(conf, (*it)[2]);
    for (const auto& route : routeTable()) {
        CAPTURE(route.handler);
        REQUIRE(environments.count(route.handler) == 1);
        const auto& environment = environments[route.handler];
        CHECK(environment.count("DATABASE_URL") == 1);
        CHECK(environment.count("KEY_ENCRYPTION_KEY_FILE") == (route.opensPrivateKeys ? 1 : 0));
        CHECK(environment.count("WEBHOOK_SECRET") == 0);
        CHECK(environment.count("WEBHOOK_URL") == 1);  // whether to write outbox events
        CHECK(environment.count("DNS_UPDATE_TSIG") == 0);
        // libpq's variables the env file may set, as the scheduler and dnsh-admin see them: a
        // handler without PGSERVICEFILE cannot connect to a DATABASE_URL of service=<name>.
        for (const char* libpq :
             {"PGCONNECT_TIMEOUT", "PGOPTIONS", "PGPASSFILE", "PGSERVICEFILE", "PGSERVICE",
              "PGSYSCONFDIR", "PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL"}) {
            CAPTURE(libpq);
            CHECK(environment.count(libpq) == 1);
        }
        CHECK(environment.count("PGPASSWORD") == 0);  // a secret: a passfile instead
    }
}

TEST_CASE("routes: Allow lists every method of a path, and nothing for unknown paths") {
    struct Case {
        std::string description, path, allow;
    };
    const std::vector<Case> cases{
        // HEAD wherever GET is (RFC 9110 §9.3.2), right after it.
        {"the collection", "/domains", "GET, HEAD, POST"},
        {"one domain", "/domains/0123456789abcdef0123456789abcdef", "GET, HEAD, DELETE"},
        {"verify", "/domains/abc/verify", "POST"},
        {"certificate", "/domains/abc/certificate", "GET, HEAD"},
        {"readiness", "/readyz", "GET, HEAD"},
        {"unknown", "/nope", ""},
        {"too deep", "/domains/a/verify/x", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(allowedMethods(c.path) == c.allow);
    }
}

TEST_CASE("routes: lighttpd.conf and CMake's handler list say what the route table says") {
    std::set<std::string> tableHandlers;
    for (const auto& route : routeTable()) tableHandlers.insert(route.handler);

    std::set<std::string> cmakeHandlers;
    std::istringstream list(DNSH_HANDLER_NAMES);
    for (std::string name; std::getline(list, name, ',');) cmakeHandlers.insert(name);
    CHECK(cmakeHandlers == tableHandlers);

    const std::string conf = lighttpdConf();
    REQUIRE_FALSE(conf.empty());
    std::set<std::string> confHandlers;
    const std::regex binPath(R"re(env\.DNSH_BIN_DIR \+ "/([a-z_]+)")re");
    for (std::sregex_iterator it(conf.begin(), conf.end(), binPath), end; it != end; ++it)
        confHandlers.insert((*it)[1]);
    CHECK(confHandlers == tableHandlers);

    const auto blocks = urlBlocks(conf);
    for (const auto& route : routeTable()) {
        const std::string path = examplePath(route.pattern);
        CAPTURE(route.pattern);
        CAPTURE(route.method);
        int matching = 0;
        for (const auto& block : blocks) {
            if (!std::regex_match(path, block.url)) continue;
            ++matching;
            const std::string bin = "\"/" + route.handler + "\"";
            // With a method condition, the handler of that method is in its branch (before
            // "} else"); the other routes of the path are in the else branch.
            const std::string condition = "$HTTP[\"request-method\"] == \"" + route.method + "\" {";
            const std::size_t at = block.body.find(condition);
            if (at != std::string::npos) {
                const std::size_t elseAt = block.body.find("} else", at);
                CHECK(block.body.substr(at, elseAt - at).find(bin) != std::string::npos);
            } else {
                CHECK(block.body.find(bin) != std::string::npos);
            }
        }
        CHECK(matching == 1);  // exactly one url block serves the path
        CHECK(lighttpdHandler(blocks, path, route.method) == route.handler);
        // lighttpd sends HEAD where GET goes: that handler answers it as GET without the body.
        if (route.method == "GET") CHECK(lighttpdHandler(blocks, path, "HEAD") == route.handler);
    }
}
