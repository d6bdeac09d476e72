#include "support/api_server.hpp"

#include <Poco/Net/ServerSocket.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "http/routes.hpp"
#include "support/processes.hpp"
#include "support/raw_http.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace fs = std::filesystem;

namespace {

// The settings of the test stack the handlers need, as deploy/test exported them.
constexpr const char* kPassedOn[] = {
    "DATABASE_URL",   "DNS_RESOLVER",           "DNS_TIMEOUT", "LOG_LEVEL", "ACME_DIRECTORY",
    "ACME_CA_BUNDLE", "KEY_ENCRYPTION_KEY_FILE", "ACME_PROFILE"};

}  // namespace

std::vector<std::string> handlerExecutables() {
    std::set<std::string> names;
    for (const auto& route : dnsh::routeTable()) names.insert(route.handler);
    return {names.begin(), names.end()};
}

ApiServer::ApiServer(const std::string& name, const std::map<std::string, std::string>& env) {
    std::string pattern = (fs::temp_directory_path() / "dnsh-api.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    logDir_ = fs::path(requireEnv("DNSH_TEST_LOG_DIR")) / ("api-" + name + "-" + randomHex(3));
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "run");
    fs::create_directories(logDir_);
    for (const std::string& handler : handlerExecutables())
        fs::copy_file(requireEnv("DNSH_HANDLER_DIR") + "/" + handler, dir_ / "bin" / handler);
    {
        // The kernel's choice of a free port; released just before lighttpd takes it.
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        port_ = probe.address().port();
    }
    std::map<std::string, std::string> settings{{"DNSH_HOME", DNSH_SOURCE_DIR},
                                                {"DNSH_BIN_DIR", (dir_ / "bin").string()},
                                                {"DNSH_RUN_DIR", (dir_ / "run").string()},
                                                {"DNSH_LOG_DIR", logDir_.string()},
                                                {"DNSH_BIND", "127.0.0.1"},
                                                {"DNSH_PORT", std::to_string(port_)},
                                                {"DNSH_HANDLER_PROCS", "1"},
                                                {"DNSH_READ_HANDLER_PROCS", "1"},
                                                {"DNSH_ISSUE_HANDLER_PROCS", "1"},
                                                {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
    for (const char* variable : kPassedOn)
        if (const char* value = std::getenv(variable)) settings[variable] = value;
    for (const auto& [variable, value] : env) settings[variable] = value;
    std::vector<std::string> entries;
    for (const auto& [variable, value] : settings) entries.push_back(variable + "=" + value);
    std::vector<char*> envp;
    for (auto& entry : entries) envp.push_back(entry.data());
    envp.push_back(nullptr);

    std::string program = "lighttpd", foreground = "-D", file = "-f",
                config = DNSH_SOURCE_DIR "/lighttpd.conf";
    char* argv[] = {program.data(), foreground.data(), file.data(), config.data(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Foreground: the handlers inherit its stderr, as in deploy/lib/stack.sh.
    const std::string log = handlersLog().string();
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc = posix_spawnp(&pid_, "lighttpd", &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "posix_spawnp lighttpd: " << rc);

    // Up once a handler answers (a malformed id: 401 with a token configured, else 404).
    bool serving = false;
    for (int i = 0; i < 100 && !serving; ++i) {
        try {
            serving =
                !sendRaw(baseUrl(), "GET", "/domains/x", "", "").header("X-Request-Id").empty();
        } catch (const std::exception&) {
        }
        if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!serving) {
        const std::string output = [&] {
            std::ifstream in(log);
            std::ostringstream text;
            text << in.rdbuf();
            return text.str();
        }();
        stop();
        FAIL("lighttpd on port " << port_ << " did not serve within 10 s: " << output);
    }
}

ApiServer::~ApiServer() {
    stop();
}

std::vector<pid_t> ApiServer::handlerProcesses(const std::string& handler) const {
    std::vector<pid_t> found;
    for (const pid_t child : childrenOf(pid_))
        if (executableOf(child) == (binDir() / handler).string()) found.push_back(child);
    return found;
}

void ApiServer::stop() {
    if (pid_ > 0) {
        const std::vector<pid_t> handlers = childrenOf(pid_);
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        // lighttpd stops its FastCGI children; any one it left behind (still running our copy
        // of a handler binary) is stopped here.
        for (const pid_t handler : handlers) {
            const std::string exe = executableOf(handler);
            if (exe.rfind((dir_ / "bin").string(), 0) == 0)
                ::kill(handler, SIGKILL);
        }
    }
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
    dir_.clear();
}

}  // namespace dnsh::test
