// No live backend at all (every handler crashed and the binaries are broken, as after a bad
// deploy): lighttpd must still answer JSON (503, from deploy/errors/) on every route.
#include <Poco/Net/ServerSocket.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/test_env.hpp"

extern char** environ;

using namespace dnsh::test;
namespace fs = std::filesystem;

namespace {

// Every handler executable: CMake's one list (DNSH_HANDLERS), passed in as "a,b,c".
std::vector<std::string> handlerNames() {
    std::vector<std::string> names;
    std::istringstream list(DNSH_HANDLER_NAMES);
    for (std::string name; std::getline(list, name, ',');) names.push_back(name);
    return names;
}
const std::vector<std::string> kHandlers = handlerNames();

// A lighttpd of its own on a free port, started with posix_spawn (safe in a threaded process).
class DeadBackendServer {
public:
    explicit DeadBackendServer(const fs::path& dir) : dir_(dir) {
        fs::create_directories(dir / "bin");
        fs::create_directories(dir / "run");
        fs::create_directories(dir / "log");
        for (const std::string& handler : kHandlers)
            fs::copy_file(requireEnv("DNSH_HANDLER_DIR") + "/" + handler, dir / "bin" / handler);
        {
            // The kernel's choice of a free port; released just before lighttpd takes it.
            Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
            port_ = probe.address().port();
        }
        std::vector<std::string> env{"DNSH_HOME=" DNSH_SOURCE_DIR,
                                     "DNSH_BIN_DIR=" + (dir / "bin").string(),
                                     "DNSH_RUN_DIR=" + (dir / "run").string(),
                                     "DNSH_LOG_DIR=" + (dir / "log").string(),
                                     "DNSH_BIND=127.0.0.1",
                                     "DNSH_PORT=" + std::to_string(port_),
                                     "DNSH_HANDLER_PROCS=1",
                                     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        std::vector<char*> envp;
        for (auto& entry : env) envp.push_back(entry.data());
        envp.push_back(nullptr);
        std::string program = "lighttpd", foreground = "-D", file = "-f",
                    config = DNSH_SOURCE_DIR "/lighttpd.conf";
        char* argv[] = {program.data(), foreground.data(), file.data(), config.data(), nullptr};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const std::string log = (dir / "log" / "lighttpd.out").string();
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        const int rc = posix_spawnp(&pid_, "lighttpd", &actions, nullptr, argv, envp.data());
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(rc == 0);
    }
    ~DeadBackendServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Replaces every handler binary by one that exits at once, then kills the running handlers:
    // lighttpd's respawns fail and no backend is left.
    void breakBackends() {
        for (const std::string& handler : kHandlers) {
            const fs::path replacement = dir_ / "bin" / (handler + ".new");
            std::ofstream(replacement) << "#!/bin/sh\nexit 1\n";
            fs::permissions(replacement, fs::perms::owner_all);
            fs::rename(replacement, dir_ / "bin" / handler);
        }
        for (const auto& entry : fs::directory_iterator("/proc")) {
            std::ifstream stat(entry.path() / "stat");
            std::string pid, name, state;
            pid_t parent = 0;
            if (stat >> pid >> name >> state >> parent && parent == pid_)
                ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
        }
    }

private:
    fs::path dir_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace

TEST_CASE("fault: with no live backend lighttpd answers JSON 503 on every route") {
    const fs::path dir =
        fs::temp_directory_path() / ("dnsh-nobackend-" + std::to_string(::getpid()));
    DeadBackendServer server(dir);
    struct Case {
        std::string description, method, path;
    };
    const std::vector<Case> cases{
        {"register", "POST", "/domains"},
        {"read a domain", "GET", "/domains/0123456789abcdef0123456789abcdef"},
        {"verify", "POST", "/domains/0123456789abcdef0123456789abcdef/verify"},
        {"issue", "POST", "/domains/0123456789abcdef0123456789abcdef/issue-certificate"},
        {"certificate", "GET", "/domains/0123456789abcdef0123456789abcdef/certificate"},
        {"check", "POST", "/domains/0123456789abcdef0123456789abcdef/check"},
    };
    // Up and serving first: a handler answers the malformed id with its own 404.
    bool serving = false;
    for (int i = 0; i < 50 && !serving; ++i) {
        try {
            serving = sendRaw(server.baseUrl(), "GET", "/domains/x", "", "").status == 404;
        } catch (const std::exception&) {
        }
        if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(serving);
    server.breakBackends();
    // lighttpd notices the dead backends on the next request to each; wait until it says so.
    bool noticed = false;
    for (int i = 0; i < 50 && !noticed; ++i) {
        noticed = sendRaw(server.baseUrl(), "GET", "/domains/x", "", "").status == 503;
        if (!noticed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(noticed);
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const HttpResult result = sendRaw(server.baseUrl(), c.method, c.path,
                                          c.method == "POST" ? "application/json" : "", "");
        CHECK(result.status == 503);
        CHECK(result.header("content-type").rfind("application/json", 0) == 0);
        CHECK(result.jsonString("error") == "service unavailable");
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}
