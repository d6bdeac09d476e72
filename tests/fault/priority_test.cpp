// lighttpd runs above the processes it feeds: the stack starts it at nice -5 (DNSH_LIGHTTPD_NICE)
// and each handler it spawns goes back to nice 0 (shared/core/process_priority.hpp; README
// "Benchmark": the GET tail). Where raising a priority is not permitted, lighttpd still starts.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/domain_flows.hpp"
#include "support/processes.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
namespace fs = std::filesystem;

namespace {

// `dnsh_start_lighttpd` of deploy/lib/stack.sh with a configuration that serves nothing (no
// handler to spawn), run by `user`; prints lighttpd's nice value, then stops it.
CommandResult startBareLighttpd(const std::string& user, const std::string& nice) {
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0777) == 0);  // the user's run and log directories
    std::ofstream(dir.path() + "/bare.conf")
        << "server.bind = env.DNSH_BIND\nserver.port = env.DNSH_PORT\n"
        << "server.document-root = \"" << dir.path() << "\"\n"
        << "server.errorlog = env.DNSH_LOG_DIR + \"/lighttpd-error.log\"\n";
    const std::string script =
        "source " DNSH_SOURCE_DIR "/deploy/lib/stack.sh && DNSH_BIND=127.0.0.1 DNSH_PORT=" +
        std::to_string(freeLoopbackPort()) + " DNSH_LIGHTTPD_NICE=" + nice +
        " dnsh_start_lighttpd /nonexistent " + dir.path() + "/run " + dir.path() + "/log " +
        dir.path() + "/bare.conf && echo nice=$(cut -d\" \" -f19 /proc/$(cat " + dir.path() +
        "/run/lighttpd.pid)/stat) && cat " + dir.path() + "/log/handlers.log; dnsh_stop_pidfile " +
        dir.path() + "/run/lighttpd.pid";
    return runCommand("runuser -u " + user + " -- bash -c '" + script + "' 2>&1");
}

}  // namespace

TEST_CASE("priority: the stack's lighttpd runs at nice -5 and every handler it spawned at 0") {
    const pid_t lighttpd = static_cast<pid_t>(
        std::stol(readFile(requireEnv("DNSH_TEST_RUN_DIR") + "/lighttpd.pid")));
    CHECK(niceOf(lighttpd) == -5);
    const std::string handlerDir = fs::canonical(requireEnv("DNSH_HANDLER_DIR")).string();
    int handlers = 0;
    for (const pid_t child : childrenOf(lighttpd)) {
        if (executableOf(child).rfind(handlerDir + "/", 0) != 0) continue;
        CAPTURE(executableOf(child));
        CHECK(niceOf(child) == 0);
        ++handlers;
    }
    CHECK(handlers >= 10);
}

TEST_CASE("priority: lighttpd starts at the caller's priority where it may not raise its own") {
    const CommandResult result = startBareLighttpd("nobody", "-5");
    INFO(result.output);
    CHECK(result.exitCode == 0);
    CHECK(result.output.find("nice=0") != std::string::npos);
    CHECK(result.output.find("cannot set niceness") != std::string::npos);  // said in its log
}

TEST_CASE("priority: a DNSH_LIGHTTPD_NICE that is not a nice value starts nothing, naming it") {
    for (const std::string nice : {"fast", "-21", "20", "1.5"}) {
        CAPTURE(nice);
        const CommandResult result = startBareLighttpd("root", nice);
        INFO(result.output);
        CHECK(result.exitCode != 0);
        CHECK(result.output.find("DNSH_LIGHTTPD_NICE=") != std::string::npos);
        CHECK(result.output.find("nice=") == std::string::npos);
    }
}
