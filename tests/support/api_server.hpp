#pragma once
// A lighttpd of the test's own (the project's lighttpd.conf, copies of the handler binaries) on
// a free loopback port, with the test stack's settings plus overrides (AUTH_TOKEN, LOG_LEVEL):
// for what the shared lighttpd of deploy/test cannot be started with, or a case may break.
// Started with posix_spawn, safe in a threaded test process.
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace dnsh::test {

// Every handler executable, from the one route table (http/routes.hpp).
std::vector<std::string> handlerExecutables();

class ApiServer {
public:
    // `name` tags its log directory, DNSH_TEST_LOG_DIR/api-<name>-<random>/ (handlers.log: the
    // handlers' stderr; lighttpd-error.log, lighttpd-access.log). Waits until a handler answers.
    ApiServer(const std::string& name, const std::map<std::string, std::string>& env);
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
    const std::filesystem::path& logDir() const { return logDir_; }
    std::filesystem::path handlersLog() const { return logDir_ / "handlers.log"; }
    std::filesystem::path binDir() const { return dir_ / "bin"; }  // its copies of the handlers
    pid_t pid() const { return pid_; }
    // The running processes of one of its handlers (e.g. "health").
    std::vector<pid_t> handlerProcesses(const std::string& handler) const;

private:
    void stop();

    std::filesystem::path dir_;     // bin/ and run/, removed at the end
    std::filesystem::path logDir_;  // kept with the run's other logs
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace dnsh::test
