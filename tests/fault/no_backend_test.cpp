// No live backend at all (every handler crashed and the binaries are broken, as after a bad
// deploy): lighttpd must still answer JSON (503, from deploy/errors/) with Retry-After on every
// route, and HEAD as GET (RFC 9110 §9.3.2): the same status and Retry-After, no body.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/api_server.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"

using namespace dnsh::test;
namespace fs = std::filesystem;

namespace {

// Replaces every handler binary of `server` by one that exits at once, then kills its running
// handlers: lighttpd's respawns fail and no backend is left.
void breakBackends(const ApiServer& server) {
    for (const std::string& handler : handlerExecutables()) {
        const fs::path replacement = server.binDir() / (handler + ".new");
        std::ofstream(replacement) << "#!/bin/sh\nexit 1\n";
        fs::permissions(replacement, fs::perms::owner_all);
        fs::rename(replacement, server.binDir() / handler);
    }
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::ifstream stat(entry.path() / "stat");
        std::string pid, name, state;
        pid_t parent = 0;
        if (stat >> pid >> name >> state >> parent && parent == server.pid())
            ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    }
}

}  // namespace

TEST_CASE("fault: with no live backend lighttpd answers JSON 503 on every route") {
    // Up and serving first (the constructor waits until a handler answers).
    ApiServer server("no-backend", {});
    struct Case {
        std::string description, method, path;
    };
    const std::vector<Case> cases{
        {"register", "POST", "/domains"},
        {"list", "GET", "/domains"},
        {"read a domain", "GET", "/domains/0123456789abcdef0123456789abcdef"},
        {"delete a domain", "DELETE", "/domains/0123456789abcdef0123456789abcdef"},
        {"verify", "POST", "/domains/0123456789abcdef0123456789abcdef/verify"},
        {"issue", "POST", "/domains/0123456789abcdef0123456789abcdef/issue-certificate"},
        {"certificate", "GET", "/domains/0123456789abcdef0123456789abcdef/certificate"},
        {"check", "POST", "/domains/0123456789abcdef0123456789abcdef/check"},
        {"readiness", "GET", "/readyz"},
        {"liveness", "GET", "/healthz"},
        // After their GETs: each HEAD is compared with the GET of its path.
        {"read a domain, headers only", "HEAD", "/domains/0123456789abcdef0123456789abcdef"},
        {"readiness, headers only", "HEAD", "/readyz"},
        {"liveness, headers only", "HEAD", "/healthz"},
    };
    // The Retry-After of each path's GET answer: lighttpd's own 503 says when to come back too
    // (deploy/errors/lighttpd-error.sh), as a handler's does.
    std::map<std::string, std::string> getRetryAfter;
    breakBackends(server);
    // lighttpd notices a dead backend on the next request to it, and a respawn of the broken
    // binary can still take a connection before it exits (answered 500): every answer is JSON
    // meanwhile, and each route settles on 503 within a few tries.
    for (const auto& c : cases) {
        CAPTURE(c.description);
        HttpResult result;
        for (int attempt = 0; attempt < 50; ++attempt) {
            result = sendRaw(server.baseUrl(), c.method, c.path,
                             c.method == "POST" ? "application/json" : "", "");
            CHECK(result.header("content-type").rfind("application/json", 0) == 0);
            if (result.status == 503) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        CHECK(result.status == 503);
        if (c.method == "HEAD") {
            CHECK(result.body == "");
            REQUIRE(getRetryAfter.count(c.path) == 1);
            CHECK(result.header("Retry-After") == getRetryAfter[c.path]);
        } else {
            CHECK(result.jsonString("error") == "service unavailable");
            CHECK(result.header("Retry-After") == "2");
            getRetryAfter[c.path] = result.header("Retry-After");
        }
    }
}
