// Secrets spread no wider than needed (issue 18 #14), seen on real processes: the environment
// lighttpd gives each handler (/proc/<pid>/environ), a KEK file that group or others may read
// refused by every program that loads it, core dumps off in every process that may hold a key
// (/proc/<pid>/limits; PR_SET_DUMPABLE, which this machine shows no outside sign of, is checked
// by tests/unit/process_hardening_test.cpp), and a DATABASE_URL that does not parse refused at
// start by every program, the password not in the message.
#include <Poco/Net/ServerSocket.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/domain_flows.hpp"
#include "support/processes.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

namespace {

constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The handlers that seal or open private keys: the only ones that need the KEK.
const std::set<std::string> kKeyHandlers{"issue_certificate", "delete_domain"};

// name -> value of a process's environment as it was exec'd.
std::map<std::string, std::string> environmentOf(pid_t pid) {
    std::map<std::string, std::string> variables;
    std::ifstream file("/proc/" + std::to_string(pid) + "/environ");
    for (std::string entry; std::getline(file, entry, '\0');)
        if (const auto equals = entry.find('='); equals != std::string::npos)
            variables[entry.substr(0, equals)] = entry.substr(equals + 1);
    return variables;
}

// The "Max core file size" line of /proc/<pid>/limits: soft and hard, "0 0" when off.
std::string coreLimitOf(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(file, line);) {
        if (line.rfind("Max core file size", 0) != 0) continue;
        std::istringstream words(line.substr(std::string("Max core file size").size()));
        std::string soft, hard;
        words >> soft >> hard;
        return soft + " " + hard;
    }
    return "(no limits line)";
}

// A copy of the stack's KEK with `mode`.
struct KekCopy {
    TempDir dir;
    std::string path = dir.path() + "/kek";
    explicit KekCopy(mode_t mode) {
        std::ofstream(path) << readFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
        REQUIRE(::chmod(path.c_str(), mode) == 0);
    }
};

// A loopback port that completes the TCP handshake and then never says a word: a client of
// PostgreSQL waits there for its connect timeout.
struct SilentDatabase {
    Poco::Net::ServerSocket socket{Poco::Net::SocketAddress("127.0.0.1", 0)};
    std::string url() const {
        return "host=127.0.0.1 port=" + std::to_string(socket.address().port()) +
               " dbname=silent user=silent connect_timeout=60";
    }
};

// `program` with `arguments` as a child; waits until it is exec'd.
std::unique_ptr<ChildProcess> runProgram(const std::string& program,
                                         const std::vector<std::string>& arguments,
                                         const Env& env, const std::string& logName) {
    auto child = std::make_unique<ChildProcess>(program, arguments, env, logName);
    const std::string executable = fs::canonical(program).string();
    REQUIRE_MESSAGE(waitFor(10s, [&] { return executableOf(child->pid()) == executable; }),
                    describe(*child));
    return child;
}

}  // namespace

TEST_CASE("fault: lighttpd gives the KEK only to the handlers that open keys, WEBHOOK_SECRET to none") {
    // Everything a production env file would hold, as lighttpd's own environment.
    ApiServer server("environ",
                     {{"WEBHOOK_URL", "http://127.0.0.1:9/hooks"}, {"WEBHOOK_SECRET", kWebhookSecret}});
    const std::string kek = requireEnv("KEY_ENCRYPTION_KEY_FILE");
    for (const std::string& handler : handlerExecutables()) {
        CAPTURE(handler);
        const std::vector<pid_t> processes = server.handlerProcesses(handler);
        REQUIRE_FALSE(processes.empty());
        for (const pid_t pid : processes) {
            const auto environment = environmentOf(pid);
            REQUIRE(environment.count("DATABASE_URL") == 1);  // the file was read
            CHECK(environment.count("WEBHOOK_URL") == 1);     // it writes outbox events
            CHECK(environment.count("WEBHOOK_SECRET") == 0);
            CHECK(environment.count("KEY_ENCRYPTION_KEY_FILE") == kKeyHandlers.count(handler));
            for (const auto& [name, value] : environment) {
                CAPTURE(name);
                CHECK(value.find(kWebhookSecret) == std::string::npos);
            }
        }
    }
    // Without the secret the handlers still serve, webhooks on: a registration goes through.
    Leftovers leftovers;
    const std::string name = uniqueDomainName("environ");
    const HttpResult created = send(server.baseUrl(), {"POST", "/domains",
                                                       "{\"domain_name\": \"" + name + "\"}",
                                                       "application/json", {}});
    REQUIRE_MESSAGE(created.status == 201, created.body);
    leftovers.add({created.jsonString("id"), name, created.jsonString("verification_token")});
}

TEST_CASE("fault: a KEK file group or others may read is refused by the scheduler, dnsh-admin "
          "and the handlers, naming it and its mode") {
    const KekCopy kek(0640);
    {
        SchedulerProcess scheduler(Env{{"KEY_ENCRYPTION_KEY_FILE", kek.path}});
        const auto exitStatus = scheduler.exitStatusWithin(10s);
        INFO("scheduler log: " << scheduler.log());
        REQUIRE_MESSAGE(exitStatus.has_value(), "dns-scheduler runs with a 0640 KEK file");
        CHECK(*exitStatus != 0);
        CHECK(scheduler.log().find(kek.path + " has mode 0640") != std::string::npos);
    }
    {
        const CommandResult admin = runCommand("KEY_ENCRYPTION_KEY_FILE=" + kek.path + " " +
                                               requireEnv("DNSH_ADMIN_BIN") + " rotate-kek");
        INFO("dnsh-admin: " << admin.output);
        CHECK(admin.exitCode == 78);  // a setting to fix (EX_CONFIG)
        CHECK(admin.output.find(kek.path + " has mode 0640") != std::string::npos);
    }
    {
        ApiServer server("kek-mode", {{"KEY_ENCRYPTION_KEY_FILE", kek.path}});
        // Sent raw: a 500 is no answer the API document lists, and that is the point here.
        const HttpResult issued = sendRaw(server.baseUrl(), "POST",
                                          "/domains/" + dnsh::randomHex(16) + "/issue-certificate",
                                          "application/json", "");
        INFO(issued.status << " " << issued.body);
        CHECK(issued.status == 500);
        CHECK(issued.body.find("kek") == std::string::npos);
        const std::string log = readFile(server.handlersLog());
        INFO("handlers.log: " << log);
        CHECK(log.find(kek.path + " has mode 0640") != std::string::npos);
    }
    // The mode is all that was wrong: private to its owner, the same file starts a scheduler.
    REQUIRE(::chmod(kek.path.c_str(), 0600) == 0);
    auto scheduler = startScheduler({{"KEY_ENCRYPTION_KEY_FILE", kek.path}});
    CHECK(scheduler->running());
}

TEST_CASE("fault: no core dumps from the handlers, the scheduler, dnsh-admin or the edge agent") {
    // The test stack's own lighttpd: each FastCGI handler it spawned has RLIMIT_CORE 0.
    const pid_t lighttpd = static_cast<pid_t>(
        std::stol(readFile(requireEnv("DNSH_TEST_RUN_DIR") + "/lighttpd.pid")));
    const std::string handlerDir = fs::canonical(requireEnv("DNSH_HANDLER_DIR")).string();
    int handlers = 0;
    for (const pid_t child : childrenOf(lighttpd)) {
        if (executableOf(child).rfind(handlerDir + "/", 0) != 0) continue;
        CAPTURE(executableOf(child));
        CHECK(coreLimitOf(child) == "0 0");
        ++handlers;
    }
    CHECK(handlers >= 10);

    // Each program waiting on a database that never answers, so it can be looked at while it
    // runs. First a plain program: the limit the check looks for is not this machine's default.
    const SilentDatabase database;
    const Env silent{{"DATABASE_URL", database.url()}, {"PGCONNECT_TIMEOUT", "60"}};
    {
        const auto plain = runProgram("/usr/bin/sleep", {"30"}, {}, "plain-sleep");
        CHECK(coreLimitOf(plain->pid()) != "0 0");
    }
    const KekCopy kek(0600);
    TempDir edgeDir;
    struct Program {
        std::string description, path;
        std::vector<std::string> arguments;
        Env env;
    };
    const std::vector<Program> programs{
        // A handler as CGI, waiting on PostgreSQL for /readyz: the same start as under lighttpd.
        {"a handler (health, /readyz)",
         requireEnv("DNSH_HANDLER_DIR") + "/health",
         {},
         {{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/readyz"}}},
        {"dnsh-admin list", requireEnv("DNSH_ADMIN_BIN"), {"list"}, {}},
        {"dns-scheduler", requireEnv("DNSH_SCHEDULER_BIN"), {}, {}},
        {"dnsh-edge-sync", requireEnv("DNSH_EDGE_SYNC_BIN"), {}, {{"EDGE_DIR", edgeDir.path()}}},
    };
    for (const Program& program : programs) {
        CAPTURE(program.description);
        Env env = silent;
        env["KEY_ENCRYPTION_KEY_FILE"] = kek.path;
        env.insert(program.env.begin(), program.env.end());
        const auto child = runProgram(program.path, program.arguments, env, "hardened-program");
        INFO(describe(*child));
        // It comes first in main(): the dynamic loader may still be at work a moment.
        CHECK(waitFor(5s, [&] { return coreLimitOf(child->pid()) == "0 0"; }));
        CHECK(child->running());
    }
}

TEST_CASE("fault: a DATABASE_URL that does not parse stops every program at start, named, "
          "without the password") {
    // A password with a space left unquoted: libpq's parse error quotes the part after it.
    // Before, it passed the start: each handler answered 500, dnsh-admin (migrate, the units'
    // ExecStartPre) exited 70, the edge agent retried it as an outage for ever.
    const std::string password = "Pa55-" + dnsh::randomHex(8);
    const std::string url = "host=127.0.0.1 user=dnsh password=hunter2 " + password;
    const std::string admin = requireEnv("DNSH_ADMIN_BIN");
    TempDir edgeDir;
    struct Program {
        std::string description, path;
        std::vector<std::string> arguments;
        Env env;
        bool configurationExit;  // 78 (EX_CONFIG), which its unit does not restart
    };
    const std::vector<Program> programs{
        // What start-api (and deploy/up) runs before lighttpd, under `set -e`: no API starts.
        {"dnsh-admin handler-procs", admin, {"handler-procs"}, {}, true},
        {"dnsh-admin migrate", admin, {"migrate"}, {}, true},
        {"dns-scheduler", requireEnv("DNSH_SCHEDULER_BIN"), {}, {}, false},
        {"dnsh-edge-sync", requireEnv("DNSH_EDGE_SYNC_BIN"), {"--once"},
         {{"EDGE_DIR", edgeDir.path()}}, true},
        // A handler as CGI, the start lighttpd gives it: it sends no answer at all.
        {"a handler (health, /readyz)",
         requireEnv("DNSH_HANDLER_DIR") + "/health",
         {},
         {{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/readyz"}},
         false},
    };
    for (const Program& program : programs) {
        CAPTURE(program.description);
        Env env = program.env;
        env["DATABASE_URL"] = url;
        ChildProcess child(program.path, program.arguments, env, "bad-database-url");
        const auto exitStatus = child.exitStatusWithin(10s);
        const std::string log = child.log();
        INFO("output: " << log);
        REQUIRE_MESSAGE(exitStatus.has_value(), "still running 10 s after start");
        if (program.configurationExit)
            CHECK(*exitStatus == 78);
        else
            CHECK(*exitStatus != 0);
        CHECK(log.find("invalid DATABASE_URL: libpq cannot parse it") != std::string::npos);
        CHECK(log.find(password) == std::string::npos);
        CHECK(log.find("hunter2") == std::string::npos);
        CHECK(log.find("Status:") == std::string::npos);  // no CGI answer
    }
}
