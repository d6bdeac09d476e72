#include "support/cgi.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "support/spawn_env.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

void writeAll(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the handler stopped reading; its answer says why
        done += static_cast<std::size_t>(n);
    }
}

std::string readAll(int fd) {
    std::string out;
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return out;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

// posix_spawn, not fork: the test process has threads (std::async in the lock-order cases),
// and a forked child of an ASan build can hang on an allocator lock another thread held.
std::string runProcess(const std::string& program, const std::map<std::string, std::string>& env,
                       const std::string& input, const std::string& name) {
    SpawnEnvironment environment(env);
    int toChild[2], fromChild[2];
    if (::pipe2(toChild, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (::pipe2(fromChild, O_CLOEXEC) != 0) {
        ::close(toChild[0]);
        ::close(toChild[1]);
        throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO);
    std::string path = program;
    char* argv[] = {path.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environment.envp());
    posix_spawn_file_actions_destroy(&actions);
    ::close(toChild[0]);
    ::close(fromChild[1]);
    if (rc != 0) {
        ::close(toChild[1]);
        ::close(fromChild[0]);
        throw std::runtime_error("posix_spawn " + program + ": " + std::to_string(rc));
    }
    writeAll(toChild[1], input);
    ::close(toChild[1]);
    const std::string output = readAll(fromChild[0]);
    ::close(fromChild[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (exitCode != 0) throw std::runtime_error(name + " exited with " + std::to_string(exitCode));
    return output;
}

}  // namespace

HttpResult runCgi(const std::string& handler, const CgiRequest& request) {
    std::map<std::string, std::string> env{
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"REQUEST_METHOD", request.method},
        {"PATH_INFO", request.path},
        {"REQUEST_URI", request.path},
        {"DATABASE_URL", databaseUrl()},
        {"DNS_TIMEOUT", "2s"},
        {"LOG_LEVEL", "warn"},
    };
    if (const char* resolver = std::getenv("DNS_RESOLVER")) env["DNS_RESOLVER"] = resolver;
    if (!request.contentType.empty()) env["CONTENT_TYPE"] = request.contentType;
    if (!request.body.empty() || request.method == "POST")
        env["CONTENT_LENGTH"] = std::to_string(request.body.size());
    for (const auto& [name, value] : request.env) env[name] = value;

    const std::string raw = runProcess(handlerPath(handler), env, request.body, handler);

    HttpResult result;
    const std::size_t split = raw.find("\r\n\r\n");
    if (split == std::string::npos) throw std::runtime_error("no CGI header block: " + raw);
    result.body = raw.substr(split + 4);
    std::size_t start = 0;
    while (start < split) {
        const std::size_t end = raw.find("\r\n", start);
        const std::string line = raw.substr(start, std::min(end, split) - start);
        start = std::min(end, split) + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        result.headers[name] = value;
    }
    result.status = std::stoi(result.header("status").substr(0, 3));
    return result;
}

}  // namespace dnsh::test
