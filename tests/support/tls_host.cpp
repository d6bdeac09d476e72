#include "support/tls_host.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

std::string fromTemplate(const std::string& name,
                         const std::map<std::string, std::string>& values) {
    return fromSourceTemplate("deploy/edge/" + name, values);
}

bool listening(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected =
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return connected;
}

void waitListening(int port, const ChildProcess& child, const std::string& what) {
    const bool up = waitFor(
        std::chrono::seconds(10), [&] { return listening(port); }, std::chrono::milliseconds(50));
    REQUIRE_MESSAGE(up, what << " is not listening on " << port << ": " << describe(child));
}

}  // namespace

std::string fromSourceTemplate(const std::string& relativePath,
                               const std::map<std::string, std::string>& values) {
    std::string text = readFile(std::string(DNSH_SOURCE_DIR) + "/" + relativePath);
    REQUIRE_MESSAGE(!text.empty(), "cannot read " << relativePath);
    for (const auto& [key, value] : values) {
        const std::string placeholder = "@" + key + "@";
        for (auto at = text.find(placeholder); at != std::string::npos;
             at = text.find(placeholder, at + value.size()))
            text.replace(at, placeholder.size(), value);
    }
    return text;
}

int freeLoopbackPort() {
    // Below the kernel's ephemeral range, so no outgoing connection takes it meanwhile.
    static std::mt19937 random(std::random_device{}());
    for (;;) {
        const int port = std::uniform_int_distribution<int>(20000, 31999)(random);
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        if (free) return port;
    }
}

ServedCertificate servedCertificate(int port, const std::string& serverName,
                                    const std::string& caFile) {
    std::string client = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                         " -servername " + serverName;
    if (!caFile.empty()) client += " -CAfile " + caFile + " -verify_hostname " + serverName;
    ServedCertificate served;
    const CommandResult result =
        runCommand("out=$(" + client +
                   " </dev/null 2>&1); printf '%s\\n' \"$out\"; "
                   "printf '%s\\n' \"$out\" | openssl x509 -noout -serial -subject -nameopt "
                   "oneline 2>&1");
    served.output = result.output;
    std::smatch match;
    if (std::regex_search(served.output, match, std::regex("\\nserial=([0-9A-Fa-f]+)"))) {
        served.handshake = true;
        std::string serial = match[1];
        for (auto& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const auto first = serial.find_first_not_of('0');
        served.serial = first == std::string::npos ? "0" : serial.substr(first);
        const auto subject = served.output.find("subject=", match.position(0));
        if (subject != std::string::npos)
            served.subject =
                served.output.substr(subject + 8, served.output.find('\n', subject) - subject - 8);
    }
    served.verified = served.output.find("Verify return code: 0 (ok)") != std::string::npos;
    return served;
}

ServedCertificate waitServed(int port, const std::string& name, const std::string& serial,
                             std::chrono::milliseconds timeout) {
    ServedCertificate served;
    waitFor(
        timeout,
        [&] {
            served = servedCertificate(port, name);
            return served.serial == serial;
        },
        std::chrono::milliseconds(200));
    return served;
}

TlsHost::TlsHost(std::string databaseUrl)
    : databaseUrl_(std::move(databaseUrl)),
      edgeDir_(run_.path() + "/edge"),
      haproxyPort_(freeLoopbackPort()),
      nginxPort_(freeLoopbackPort()) {
    // nginx's worker (www-data) must reach EDGE_DIR below it.
    std::filesystem::permissions(run_.path(), std::filesystem::perms(0755),
                                 std::filesystem::perm_options::replace);
    defaultPem_ = run_.path() + "/default.pem";
    const CommandResult made = runCommand(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
        "-subj /CN=edge-default.invalid -keyout " +
        run_.path() + "/default.key -out " + run_.path() + "/default.crt 2>&1 && cat " +
        run_.path() + "/default.crt " + run_.path() + "/default.key > " + defaultPem_);
    REQUIRE_MESSAGE(made.exitCode == 0, made.output);
}

TlsHost::~TlsHost() {
    agent_.reset();
    nginx_.reset();
    haproxy_.reset();
}

std::map<std::string, std::string> TlsHost::agentEnv(
    const std::map<std::string, std::string>& extra) const {
    // HAProxy's socket once this host has started one.
    std::map<std::string, std::string> env{{"EDGE_DIR", edgeDir_},
                                           {"EDGE_HAPROXY_SOCKET", haproxy_ ? socket() : ""},
                                           {"EDGE_POLL_INTERVAL", "1s"},
                                           {"EDGE_GROUP", "www-data"},
                                           {"EDGE_AGENT_NAME", "test:" + edgeDir_},
                                           {"LOG_LEVEL", "info"}};
    if (!databaseUrl_.empty()) env["DATABASE_URL"] = databaseUrl_;
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

CommandResult TlsHost::syncOnce(const std::map<std::string, std::string>& extra) const {
    std::string command;
    for (const auto& [name, value] : agentEnv(extra)) command += name + "='" + value + "' ";
    return runCommand(command + requireEnv("DNSH_EDGE_SYNC_BIN") + " --once");
}

ChildProcess& TlsHost::startAgent(const std::map<std::string, std::string>& extra) {
    agent_ = std::make_unique<ChildProcess>(
        requireEnv("DNSH_EDGE_SYNC_BIN"), std::vector<std::string>{}, agentEnv(extra), "edge-sync");
    const bool started = waitFor(
        std::chrono::seconds(10),
        [&] { return agent_->log().find("\"edge agent started\"") != std::string::npos; },
        std::chrono::milliseconds(20));
    REQUIRE_MESSAGE(started, "dnsh-edge-sync did not start: " << describe(*agent_));
    return *agent_;
}

void TlsHost::startHaproxy() {
    const std::string config = run_.write(
        "haproxy.cfg",
        fromTemplate("haproxy.cfg.in", {{"TLS_ADDR", "127.0.0.1:" + std::to_string(haproxyPort_)},
                                        {"EDGE_DIR", edgeDir_},
                                        {"SOCKET", socket()},
                                        {"DEFAULT_PEM", defaultPem_}}));
    haproxy_ = std::make_unique<ChildProcess>("/usr/sbin/haproxy",
                                              std::vector<std::string>{"-db", "-f", config},
                                              std::map<std::string, std::string>{}, "haproxy");
    waitListening(haproxyPort_, *haproxy_, "HAProxy");
    // HAProxy binds its stats socket under a temporary name and renames it into place after
    // the TCP listeners: the port can answer before the runtime API exists.
    const bool runtimeUp = waitFor(
        std::chrono::seconds(10), [&] { return std::filesystem::exists(socket()); },
        std::chrono::milliseconds(20));
    REQUIRE_MESSAGE(runtimeUp, "HAProxy's runtime API did not appear at " << socket() << ": "
                                                                       << describe(*haproxy_));
}

void TlsHost::startNginx() {
    const std::string config = run_.write(
        "nginx.conf",
        fromTemplate("nginx.conf.in", {{"TLS_ADDR", "127.0.0.1:" + std::to_string(nginxPort_)},
                                       {"EDGE_DIR", edgeDir_},
                                       {"RUN_DIR", run_.path()}}));
    nginx_ = std::make_unique<ChildProcess>(
        "/usr/sbin/nginx",
        std::vector<std::string>{"-c", config, "-p", run_.path(), "-e",
                                 run_.path() + "/nginx-error.log"},
        std::map<std::string, std::string>{}, "nginx");
    waitListening(nginxPort_, *nginx_, "nginx");
}

int TlsHost::nginxWorkerPid() const {
    if (!nginx_) return -1;
    const CommandResult children =
        runCommand("cat /proc/" + std::to_string(nginx_->pid()) + "/task/*/children");
    std::istringstream pids(children.output);
    int pid = -1;
    pids >> pid;
    return pid;
}

std::string TlsHost::nginxLog() const {
    return readFile(run_.path() + "/nginx-error.log");
}

}  // namespace dnsh::test
