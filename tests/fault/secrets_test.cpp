// Secrets (issue 4, "Secrets"): the optional AUTH_TOKEN, a scheduler that refuses to start
// without its key-encryption key, dnsh-admin export-cert, and no key, certificate or verification
// token in any log of the run. This file sorts after faults_test.cpp, so in a plain run the log
// check also sees what the fault cases logged; it issues a certificate of its own all the same.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/keys.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

const std::regex kHexId(R"(^[0-9a-f]{32}$)");

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done,
             std::chrono::milliseconds interval = 150ms) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(interval);
    }
    return done();
}

bool isJsonAnswer(const HttpResult& result) {
    if (result.header("Content-Type").rfind("application/json", 0) != 0) return false;
    try {
        result.json();
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

struct TestDomain {
    std::string id;
    std::string name;
    std::string token;
    std::string challengeName() const { return "_acme-challenge." + name; }
};

// Fails what the case leaves in certificate_pending and clears its TXT records, however it ends.
class Leftovers {
public:
    Leftovers() = default;
    Leftovers(const Leftovers&) = delete;
    Leftovers& operator=(const Leftovers&) = delete;
    void add(const TestDomain& domain) { domains_.push_back(domain); }
    ~Leftovers() {
        for (const auto& domain : domains_) {
            try {
                execute("UPDATE domains SET status = 'failed', error = 'left over by a fault test', "
                        "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL "
                        "WHERE status = 'certificate_pending' AND id = " + quoted(domain.id));
            } catch (...) {
            }
            try {
                clearTxt(domain.challengeName());
            } catch (...) {
            }
        }
    }

private:
    std::vector<TestDomain> domains_;
};

TestDomain registerDomain(const std::string& prefix, Leftovers& leftovers) {
    const std::string name = uniqueDomainName(prefix);
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"" + name + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    TestDomain domain{created.jsonString("id"), name, created.jsonString("verification_token")};
    REQUIRE(std::regex_match(domain.id, kHexId));
    leftovers.add(domain);
    return domain;
}

// Registered, verified, issued and published with a scheduler running, until active.
TestDomain activeDomain(const std::string& prefix, Leftovers& leftovers) {
    SchedulerProcess scheduler(Env{{"POLL_INTERVAL", "200ms"}});
    const TestDomain domain = registerDomain(prefix, leftovers);
    setTxt(domain.challengeName(), domain.token);
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    const HttpResult issued = postJson("/domains/" + domain.id + "/issue-certificate", "");
    REQUIRE_MESSAGE(issued.status == 202, issued.body);
    clearTxt(domain.challengeName());
    setTxt(domain.challengeName(), issued.jsonString("expected_txt_value"));
    const std::string id = quoted(domain.id);
    waitFor(20s, [&] {
        const std::string status = scalar("SELECT status FROM domains WHERE id = " + id);
        return status == "active" || status == "failed";
    }, 200ms);
    REQUIRE_MESSAGE(scalar("SELECT status FROM domains WHERE id = " + id) == "active",
                    scalar("SELECT status || coalesce(' (' || error || ')', '') FROM domains WHERE id = " + id));
    return domain;
}

struct CommandResult {
    int exitCode = -1;
    std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command) {
    CommandResult result;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    std::size_t read = 0;
    while ((read = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, read);
    const int status = pclose(pipe);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "dnsh-fault.XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

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

TEST_CASE("fault: no secrets in logs and no scheduler without a KEK and export-cert writes a verifiable pair") {
    // Without the key-encryption key the scheduler refuses to start, saying which variable.
    {
        SchedulerProcess scheduler(Env{{"KEY_ENCRYPTION_KEY_FILE", ""}});
        int status = 0;
        pid_t reaped = 0;
        waitFor(5s, [&] {
            reaped = waitpid(scheduler.pid(), &status, WNOHANG);
            return reaped == scheduler.pid();
        }, 50ms);
        INFO("log: " << readFile(scheduler.logFile()));
        REQUIRE_MESSAGE(reaped == scheduler.pid(), "dns-scheduler still running 5 s after start without a KEK");
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) != 0);
        CHECK(readFile(scheduler.logFile()).find("KEY_ENCRYPTION_KEY_FILE") != std::string::npos);
    }

    Leftovers leftovers;
    const TestDomain domain = activeDomain("secrets", leftovers);

    // export-cert: key.pem only for the owner, cert.pem verifies with chain.pem up to Pebble's root.
    TempDir out;
    const CommandResult exported = run(requireEnv("DNSH_ADMIN_BIN") + " export-cert " + domain.id +
                                       " --out " + out.path());
    INFO("export-cert: " << exported.output);
    REQUIRE(exported.exitCode == 0);
    struct stat keyStat {};
    REQUIRE(stat((out.path() + "/key.pem").c_str(), &keyStat) == 0);
    CHECK((keyStat.st_mode & 0777) == 0600);
    const std::string certPem = readFile(out.path() + "/cert.pem");
    CHECK(certPem == scalar("SELECT certificate_pem FROM certificates WHERE domain_id = " + quoted(domain.id)));
    const dnsh::Pkey key = dnsh::privateKeyFromPem(readFile(out.path() + "/key.pem"));
    CHECK(dnsh::certificateMatchesKey(certPem, key.get()));
    std::ofstream(out.path() + "/root.pem") << pebbleRootPem();
    const CommandResult verified = run("openssl verify -CAfile " + out.path() + "/root.pem -untrusted " +
                                       out.path() + "/chain.pem " + out.path() + "/cert.pem");
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
    MESSAGE("checked " << files << " log file(s) in " << logDir << " against " << tokens.size() << " token(s)");
    CHECK(files >= 3);  // at least handlers.log, the lighttpd logs and a scheduler log
}
