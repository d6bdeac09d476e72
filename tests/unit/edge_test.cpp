// The edge agent's pure parts: file names from domain names, serial spellings, EDGE_* settings;
// and how it reads HAProxy's runtime API, against a scripted socket of its own.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/edge_config.hpp"
#include "crypto/random.hpp"
#include "edge/edge_names.hpp"
#include "edge/haproxy_runtime.hpp"
#include "unit/environment_lookup.hpp"

using namespace dnsh;
using dnsh::test::lookupIn;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// A stats socket in a thread of its own: each connection's command (a `<<` one up to its empty
// line) gets `answer(command)` and the connection closes, as HAProxy's does without `prompt`.
// "" answers nothing; `unread` closes each connection with the command unread, which the peer's
// recv() gets as ECONNRESET (Linux, AF_UNIX).
class ScriptedSocket {
public:
    explicit ScriptedSocket(std::function<std::string(const std::string&)> answer,
                            bool unread = false)
        : dir_(fs::temp_directory_path() / std::string("dnsh-stats-").append(randomHex(8))),
          answer_(std::move(answer)),
          unread_(unread) {
        fs::create_directories(dir_);
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string at = path();
        REQUIRE(at.size() < sizeof address.sun_path);
        std::memcpy(address.sun_path, at.c_str(), at.size() + 1);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 8) == 0);
        server_ = std::thread([this] { serve(); });
    }
    ~ScriptedSocket() {
        stop_ = true;
        server_.join();
        ::close(listener_);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    ScriptedSocket(const ScriptedSocket&) = delete;
    ScriptedSocket& operator=(const ScriptedSocket&) = delete;

    std::string path() const { return (dir_ / "admin.sock").string(); }
    // The commands received so far, their first lines.
    std::vector<std::string> commands() {
        const std::lock_guard<std::mutex> lock(mutex_);
        return commands_;
    }

private:
    static bool readable(int fd, int millis) {
        pollfd ready{fd, POLLIN, 0};
        return ::poll(&ready, 1, millis) > 0;
    }
    void serve() {
        while (!stop_) {
            if (!readable(listener_, 50)) continue;
            const int peer = ::accept(listener_, nullptr, nullptr);
            if (peer < 0) continue;
            if (unread_) {
                readable(peer, 5'000);  // the command is there, and stays unread
            } else {
                std::string request;
                char buffer[4096];
                auto whole = [&] {
                    const auto end = request.find('\n');
                    if (end == std::string::npos) return false;
                    const bool payload = end >= 2 && request.compare(end - 2, 2, "<<") == 0;
                    return !payload || request.find("\n\n", end) != std::string::npos;
                };
                while (!whole() && readable(peer, 5'000)) {
                    const ssize_t got = ::recv(peer, buffer, sizeof buffer, 0);
                    if (got <= 0) break;
                    request.append(buffer, static_cast<std::size_t>(got));
                }
                const std::string command = request.substr(0, request.find('\n'));
                {
                    const std::lock_guard<std::mutex> lock(mutex_);
                    commands_.push_back(command);
                }
                const std::string reply = answer_(command);
                const ssize_t sent = ::send(peer, reply.data(), reply.size(), MSG_NOSIGNAL);
                (void)sent;  // a client gone is the client's failure
            }
            ::close(peer);
        }
    }

    fs::path dir_;
    std::function<std::string(const std::string&)> answer_;
    bool unread_;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> commands_;
    std::thread server_;
};

bool startsWith(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace

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
    CHECK(defaults.reloadMinInterval == milliseconds(10'000));
    CHECK(defaults.reloadTimeout == milliseconds(60'000));
    CHECK(defaults.reloadOn == EdgeReloadOn::Any);
    CHECK(defaults.listen);
    CHECK_FALSE(defaults.group.has_value());
    CHECK(defaults.agentName.find(":/srv/edge") != std::string::npos);

    const EdgeSettings set = loadEdgeSettings(lookupIn({{"EDGE_DIR", "/srv/edge"},
                                                        {"EDGE_HAPROXY_SOCKET", "/run/h.sock"},
                                                        {"EDGE_RECONCILE_INTERVAL", "10m"},
                                                        {"EDGE_POLL_INTERVAL", "2s"},
                                                        {"EDGE_RELOAD_MIN_INTERVAL", "1m"},
                                                        {"EDGE_RELOAD_TIMEOUT", "5s"},
                                                        {"EDGE_RELOAD_ON", "map"},
                                                        {"EDGE_LISTEN", "off"},
                                                        {"EDGE_GROUP", "root"},
                                                        {"EDGE_AGENT_NAME", "edge-1"}}));
    CHECK(set.haproxySocket == "/run/h.sock");
    CHECK(set.reconcileInterval == milliseconds(600'000));
    CHECK(set.pollInterval == milliseconds(2'000));
    CHECK(set.reloadMinInterval == milliseconds(60'000));
    CHECK(set.reloadTimeout == milliseconds(5'000));
    CHECK(set.reloadOn == EdgeReloadOn::Map);
    CHECK_FALSE(set.listen);
    CHECK(set.group == gid_t(0));
    CHECK(set.agentName == "edge-1");

    const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad{
        {{}, "EDGE_DIR"},
        {{{"EDGE_DIR", "relative/dir"}}, "EDGE_DIR"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_HAPROXY_SOCKET", "admin.sock"}}, "EDGE_HAPROXY_SOCKET"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_POLL_INTERVAL", "often"}}, "EDGE_POLL_INTERVAL"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_RELOAD_MIN_INTERVAL", "10"}}, "EDGE_RELOAD_MIN_INTERVAL"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_RELOAD_TIMEOUT", "-1s"}}, "EDGE_RELOAD_TIMEOUT"},
        {{{"EDGE_DIR", "/e"}, {"EDGE_RELOAD_ON", "renewals"}}, "EDGE_RELOAD_ON"},
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

TEST_CASE("loadEdgeDatabaseSettings: a DATABASE_URL libpq cannot parse stops the start, named, "
          "without the password, and a value with a space is the agent's to take") {
    // Before, only an empty URL was refused: the agent took a URL libpq cannot parse for an
    // outage at every connect and retried for ever, its unit active, nothing delivered.
    const std::string password = "Pa55-" + randomHex(8);
    const std::map<std::string, std::string> environment{{"KEY_ENCRYPTION_KEY_FILE", "/e/kek"}};
    auto loadWith = [&](const std::string& url) {
        auto withUrl = environment;
        withUrl["DATABASE_URL"] = url;
        return loadEdgeDatabaseSettings(lookupIn(withUrl));
    };
    for (const std::string& url :
         {"postgresql://dnsh:" + password + "@db/dnsh?sslmod=verify-full",
          "host=db user=dnsh password=hunter2 " + password}) {
        CAPTURE(url);
        std::string message;
        try {
            loadWith(url);
        } catch (const ConfigError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(message.find("invalid DATABASE_URL") != std::string::npos);
        CHECK(message.find(password) == std::string::npos);
    }
    // The agent's connections are libpq's own, not Poco's connector: loadConfig's refusal of a
    // value with a space is not the agent's.
    const std::string spaced = "host=db dbname=dnsh options='-c search_path=dnsh' password=" +
                               password;
    CHECK(loadWith(spaced).databaseUrl == spaced);
}

TEST_CASE(
    "HAProxy's runtime API: a connection closed or reset before any answer is HAProxy "
    "unreachable, not an empty crt-list") {
    // Read as an empty list, the agent's compare took every domain for new and listed each a
    // second time (`add ssl crt-list`), after which `del ssl crt-list` refused them.
    for (const bool unread : {false, true}) {
        CAPTURE(unread);
        ScriptedSocket socket([](const std::string&) { return std::string(); }, unread);
        HaproxyRuntime runtime(socket.path(), "/srv/edge/haproxy.crt-list", milliseconds(5'000));
        CHECK_THROWS_AS(runtime.listed(), HaproxyUnreachable);
    }
}

TEST_CASE("HAProxy's runtime API: a crt-list is read only under its header, with line numbers") {
    const std::string list = "/srv/edge/haproxy.crt-list";
    std::string listing = "# ";  // appended: GCC 12 misreads "literal" + std::string (-Wrestrict)
    listing.append(list).append(
        "\n/srv/edge/a.pem:2\n/srv/edge/b.pem:3 [alpn h2] b.example\n/srv/edge/a.pem:7\n\n");
    {
        ScriptedSocket socket([&](const std::string&) { return listing; });
        HaproxyRuntime runtime(socket.path(), list);
        const std::map<std::string, std::vector<int>> expected{{"/srv/edge/a.pem", {2, 7}},
                                                               {"/srv/edge/b.pem", {3}}};
        CHECK(runtime.entries() == expected);
        CHECK(runtime.listed() == std::set<std::string>{"/srv/edge/a.pem", "/srv/edge/b.pem"});
        CHECK(socket.commands().front() == "show ssl crt-list -n " + list);
    }
    // Another list's, an error, an answer with no header: none is this list (empty or not).
    for (const std::string answer : {"# /srv/other.crt-list\n/srv/edge/a.pem:2\n\n",
                                     "didn't find the specified filename\n\n", "\n"}) {
        CAPTURE(answer);
        ScriptedSocket socket([&](const std::string&) { return answer; });
        HaproxyRuntime runtime(socket.path(), list);
        CHECK_THROWS_AS(runtime.listed(), std::runtime_error);
    }
}

TEST_CASE(
    "HAProxy's runtime API: a new file whose store already exists is added to the crt-list only "
    "when the list lacks it") {
    const std::string list = "/srv/edge/haproxy.crt-list";
    const std::string file = "/srv/edge/a.example.pem";
    const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    for (const bool listed : {true, false}) {
        CAPTURE(listed);
        // As HAProxy 2.6 answers, for a store an earlier run (or a wrong listing) left behind.
        ScriptedSocket socket([&](const std::string& command) -> std::string {
            if (startsWith(command, "new ssl cert "))
                return "Certificate '" + file + "' already exists!\n\n";
            if (startsWith(command, "abort ssl cert ")) return "No ongoing transaction!\n\n";
            if (startsWith(command, "set ssl cert "))
                return "Transaction created for certificate " + file + "!\n\n";
            if (startsWith(command, "commit ssl cert "))
                return "Committing " + file + "\nSuccess!\n\n";
            if (startsWith(command, "show ssl cert "))
                return "Filename: " + file + "\nSerial: 0A\n\n";
            if (startsWith(command, "show ssl crt-list ")) {
                std::string answer = "# ";
                answer.append(list).append("\n");
                if (listed) answer.append(file).append(":2\n");
                return answer.append("\n");
            }
            if (startsWith(command, "add ssl crt-list "))
                return "Inserting certificate '" + file + "' in crt-list '" + list +
                       "'.\nSuccess!\n\n";
            return "Unknown command\n\n";
        });
        HaproxyRuntime runtime(socket.path(), list);
        runtime.install(file, pem, "0a", true);
        int added = 0;
        for (const auto& command : socket.commands())
            if (startsWith(command, "add ssl crt-list ")) ++added;
        // Listed already, a second `add` would make two entries and `del` would refuse both.
        CHECK(added == (listed ? 0 : 1));
    }
}
