// Secrets (issue 4, "Secrets"): the optional AUTH_TOKEN, a scheduler that refuses to start
// without its key-encryption key, dnsh-admin export-cert, and no key, certificate or verification
// token in any log of the run. This file sorts after faults_test.cpp, so in a plain run the log
// check also sees what the fault cases logged; it issues a certificate of its own all the same.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// Registered, verified, issued and published with a scheduler running, until active.
TestDomain activeDomain(const std::string& prefix, Leftovers& leftovers) {
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});
    const TestDomain domain = verifiedDomain(prefix, leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 20s);
    return domain;
}

// Every maximal run of lowercase hex in `text` that holds a 64-character token, all windows.
void collectHex64(const std::string& text, std::set<std::string>& out) {
    auto isHex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    std::size_t i = 0;
    while (i < text.size()) {
        if (!isHex(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && isHex(text[end])) ++end;
        for (std::size_t start = i; start + 64 <= end; ++start) out.insert(text.substr(start, 64));
        i = end;
    }
}

}  // namespace

TEST_CASE("fault: AUTH_TOKEN requires a Bearer token on every endpoint") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("auth", leftovers);
    const std::string path = "/domains/" + domain.id;
    auto getWith = [&](const std::map<std::string, std::string>& extra) {
        std::map<std::string, std::string> env{{"AUTH_TOKEN", "s3cret"}};
        env.insert(extra.begin(), extra.end());
        CgiRequest request;
        request.path = path;
        request.env = env;
        return runCgi("get_domain", request);
    };

    const HttpResult missing = getWith({});
    INFO("no Authorization: " << missing.status << " " << missing.body);
    CHECK(missing.status == 401);
    CHECK(isJsonAnswer(missing));
    CHECK(missing.header("WWW-Authenticate") == "Bearer");
    CHECK(missing.body.find(domain.id) == std::string::npos);

    for (const char* wrong : {"Bearer wrong", "Bearer s3cre", "Bearer s3cretX", "Bearer  s3cret",
                              "Basic czNjcmV0", "s3cret", ""}) {
        const HttpResult refused = getWith({{"HTTP_AUTHORIZATION", wrong}});
        INFO("Authorization: " << wrong << " -> " << refused.status << " " << refused.body);
        CHECK(refused.status == 401);
        CHECK(isJsonAnswer(refused));
        CHECK(refused.header("WWW-Authenticate") == "Bearer");
    }

    const HttpResult allowed = getWith({{"HTTP_AUTHORIZATION", "Bearer s3cret"}});
    INFO("Bearer s3cret: " << allowed.status << " " << allowed.body);
    CHECK(allowed.status == 200);
    CHECK(allowed.jsonString("id") == domain.id);

    // A write without the token changes nothing.
    const std::string name = uniqueDomainName("auth-refused");
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains";
    request.body = "{\"domain_name\": \"" + name + "\"}";
    request.env = {{"AUTH_TOKEN", "s3cret"}};
    const HttpResult create = runCgi("create_domain", request);
    CHECK(create.status == 401);
    CHECK(isJsonAnswer(create));
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);
}

TEST_CASE(
    "fault: no secrets in logs and no scheduler without a KEK and export-cert writes a verifiable "
    "pair") {
    // Without the key-encryption key the scheduler refuses to start, saying which variable.
    {
        SchedulerProcess scheduler(Env{{"KEY_ENCRYPTION_KEY_FILE", ""}});
        int status = 0;
        pid_t reaped = 0;
        waitFor(
            5s,
            [&] {
                reaped = waitpid(scheduler.pid(), &status, WNOHANG);
                return reaped == scheduler.pid();
            },
            50ms);
        INFO("log: " << readFile(scheduler.logFile()));
        REQUIRE_MESSAGE(reaped == scheduler.pid(),
                        "dns-scheduler still running 5 s after start without a KEK");
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) != 0);
        CHECK(readFile(scheduler.logFile()).find("KEY_ENCRYPTION_KEY_FILE") != std::string::npos);
    }

    Leftovers leftovers;
    const TestDomain domain = activeDomain("secrets", leftovers);

    // export-cert: key.pem only for the owner, cert.pem verifies with chain.pem up to Pebble's
    // root.
    TempDir out;
    const CommandResult exported = runCommand(requireEnv("DNSH_ADMIN_BIN") + " export-cert " +
                                              domain.id + " --out " + out.path());
    INFO("export-cert: " << exported.output);
    REQUIRE(exported.exitCode == 0);
    struct stat keyStat {};
    REQUIRE(stat((out.path() + "/key.pem").c_str(), &keyStat) == 0);
    CHECK((keyStat.st_mode & 0777) == 0600);
    const std::string certPem = readFile(out.path() + "/cert.pem");
    CHECK(certPem == scalar("SELECT certificate_pem FROM certificates WHERE domain_id = " +
                            quoted(domain.id)));
    const dnsh::Pkey key = dnsh::privateKeyFromPem(readFile(out.path() + "/key.pem"));
    CHECK(dnsh::certificateMatchesKey(certPem, key.get()));
    std::ofstream(out.path() + "/root.pem") << pebbleRootPem();
    const CommandResult verified =
        runCommand("openssl verify -CAfile " + out.path() + "/root.pem -untrusted " + out.path() +
                   "/chain.pem " + out.path() + "/cert.pem");
    INFO("openssl verify: " << verified.output);
    CHECK(verified.exitCode == 0);

    // The logs of the whole run: no PEM key or certificate, no verification token of any domain.
    // challtestsrv.log is the sandbox DNS server's own log: it records the TXT values published
    // in DNS, where the verification tokens are public by design, so it is not the service's log.
    std::set<std::string> tokens;
    {
        std::istringstream all(scalar("SELECT string_agg(verification_token, ' ') FROM domains"));
        std::string token;
        while (all >> token) tokens.insert(token);
    }
    REQUIRE(tokens.count(domain.token) == 1);
    const std::string logDir = requireEnv("DNSH_TEST_LOG_DIR");
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(logDir)) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name == "challtestsrv.log") continue;
        ++files;
        const std::string text = readFile(entry.path().string());
        CAPTURE(name);
        CHECK(text.find("PRIVATE KEY") == std::string::npos);
        CHECK(text.find("BEGIN CERTIFICATE") == std::string::npos);
        std::set<std::string> hex;
        collectHex64(text, hex);
        int leaked = 0;
        std::string example;
        for (const auto& candidate : hex) {
            if (tokens.count(candidate)) {
                ++leaked;
                example = candidate;
            }
        }
        INFO("e.g. token " << example);
        CHECK(leaked == 0);
    }
    MESSAGE("checked " << files << " log file(s) in " << logDir << " against " << tokens.size()
                       << " token(s)");
    CHECK(files >= 3);  // at least handlers.log, the lighttpd logs and a scheduler log
}

TEST_CASE("fault: the scheduler warns when the API listens beyond loopback without AUTH_TOKEN") {
    struct Case {
        std::string description, serverAddr, authToken;
        bool warns;
    };
    const std::vector<Case> cases{
        {"all interfaces, no token", ":8080", "", true},
        {"a public address, no token", "192.0.2.10:8080", "", true},
        {"all interfaces with a token", ":8080", "s3cret", false},
        {"loopback, no token", "127.0.0.1:8080", "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        SchedulerProcess scheduler(Env{{"SERVER_ADDR", c.serverAddr}, {"AUTH_TOKEN", c.authToken}});
        REQUIRE(waitFor(5s, [&] {
            return readFile(scheduler.logFile()).find("scheduler started") != std::string::npos;
        }));
        const bool warned =
            readFile(scheduler.logFile()).find("the API is open") != std::string::npos;
        CHECK(warned == c.warns);
        CHECK(scheduler.terminate() == 0);  // SIGTERM: a clean stop
    }
}
