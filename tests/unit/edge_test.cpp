// The edge agent's pure parts: file names from domain names, serial spellings, EDGE_* settings.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/edge_config.hpp"
#include "edge/edge_names.hpp"
#include "edge/haproxy_runtime.hpp"
#include "unit/environment_lookup.hpp"

using namespace dnsh;
using dnsh::test::lookupIn;
using std::chrono::milliseconds;

TEST_CASE(
    "edge file names: the domain name, a wildcard as _wildcard, nothing that leaves EDGE_DIR") {
    struct Case {
        std::string description;
        std::string domain;
        std::string file;  // "" when refused
    };
    const std::vector<Case> cases{
        {"a plain name", "shop.example.com", "shop.example.com.pem"},
        {"an A-label", "xn--bcher-kva.example", "xn--bcher-kva.example.pem"},
        {"a wildcard", "*.example.com", "_wildcard.example.com.pem"},
        {"a path", "../etc/passwd", ""},
        {"a slash", "a/b.example.com", ""},
        {"a leading dot (a hidden file, the agent's own)", ".edge-sync.manifest", ""},
        {"upper case (the API stores lower case only)", "Shop.example.com", ""},
        {"two dots", "a..example.com", ""},
        {"empty", "", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        if (c.file.empty()) {
            CHECK_THROWS_AS(edgeFileName(c.domain), std::invalid_argument);
        } else {
            CHECK(edgeFileName(c.domain) == c.file);
        }
    }
}

TEST_CASE("serials compare whatever the spelling") {
    CHECK(normalisedSerial("0a0a0001") == "A0A0001");
    CHECK(normalisedSerial("0A:0A:00:01") == "A0A0001");
    CHECK(normalisedSerial(" 457882CF3992F6D0\n") == "457882CF3992F6D0");
    CHECK(normalisedSerial("00") == "0");
}

TEST_CASE("a `set ssl cert` payload goes whole only with no empty line and no CR") {
    const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    CHECK(isWholeCliPayload(pem + pem));
    CHECK_FALSE(isWholeCliPayload(""));
    CHECK_FALSE(isWholeCliPayload(pem + "\n" + pem));  // HAProxy would stop at the blank line
    CHECK_FALSE(isWholeCliPayload("\n" + pem));
    CHECK_FALSE(isWholeCliPayload(pem + "\r\n" + pem));
    CHECK_FALSE(isWholeCliPayload("-----BEGIN CERTIFICATE-----\r\nMIIB\r\n"));
    CHECK_FALSE(isWholeCliPayload(pem.substr(0, pem.size() - 1)));  // its last line unended
}

TEST_CASE("loadEdgeSettings: defaults, overrides, and a ConfigError naming the variable") {
    const EdgeSettings defaults = loadEdgeSettings(lookupIn({{"EDGE_DIR", "/srv/edge/"}}));
    CHECK(defaults.dir == "/srv/edge");
    CHECK(defaults.haproxySocket.empty());
    CHECK(defaults.reconcileInterval == milliseconds(3'600'000));
    CHECK(defaults.pollInterval == milliseconds(30'000));
    CHECK(defaults.listen);
    CHECK_FALSE(defaults.group.has_value());
    CHECK(defaults.agentName.find(":/srv/edge") != std::string::npos);

    const EdgeSettings set = loadEdgeSettings(lookupIn({{"EDGE_DIR", "/srv/edge"},
                                                        {"EDGE_HAPROXY_SOCKET", "/run/h.sock"},
                                                        {"EDGE_RECONCILE_INTERVAL", "10m"},
                                                        {"EDGE_POLL_INTERVAL", "2s"},
                                                        {"EDGE_LISTEN", "off"},
                                                        {"EDGE_GROUP", "root"},
                                                        {"EDGE_AGENT_NAME", "edge-1"}}));
    CHECK(set.haproxySocket == "/run/h.sock");
    CHECK(set.reconcileInterval == milliseconds(600'000));
    CHECK(set.pollInterval == milliseconds(2'000));
    CHECK_FALSE(set.listen);
    CHECK(set.group == gid_t(0));
    CHECK(set.agentName == "edge-1");

    const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad{
        {{}, "EDGE_DIR"},
        {{{"EDGE_DIR", "relative/dir"}}, "EDGE_DIR"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_HAPROXY_SOCKET", "admin.sock"}}, "EDGE_HAPROXY_SOCKET"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_POLL_INTERVAL", "often"}}, "EDGE_POLL_INTERVAL"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_LISTEN", "true"}}, "EDGE_LISTEN"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_GROUP", "no-such-group-anywhere"}}, "EDGE_GROUP"},
    };
    for (const auto& [environment, variable] : bad) {
        CAPTURE(variable);
        try {
            loadEdgeSettings(lookupIn(environment));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()).find(variable) != std::string::npos);
        }
    }
}
