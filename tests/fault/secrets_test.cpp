// Secrets (issue 4, "Secrets"): the optional AUTH_TOKEN on every route, through a lighttpd of
// the case's own started with it; a scheduler that refuses to start without its key-encryption
// key; dnsh-admin export-cert; and no token, key, certificate or KEK in any log of the run
// (PostgreSQL's, every handler's, every scheduler's), checked after an issuance the case makes
// itself with the handlers and the scheduler at LOG_LEVEL=debug, whatever ran before it.
#include <Poco/Base64Decoder.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/hex.hpp"
#include "support/api_server.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

std::string bearer(const std::string& token) {
    return "Bearer " + token;
}

// One request to `server`; no `authorization`: no Authorization header at all.
HttpResult call(const ApiServer& server, const std::string& method, const std::string& path,
                const std::string& body, const std::optional<std::string>& authorization) {
    HttpRequest request{method, path, body, body.empty() ? "" : "application/json", {}};
    if (authorization) request.headers["Authorization"] = *authorization;
    return send(server.baseUrl(), request);
}

struct Credentials {
    std::string description;
    std::optional<std::string> authorization;
};

// Every way of not presenting `token` that a client might try.
std::vector<Credentials> wrongCredentials(const std::string& token) {
    return {
        {"no Authorization header", std::nullopt},
        {"an empty Authorization header", ""},
        {"another token", "Bearer wrong"},
        {"the token less its last character", bearer(token.substr(0, token.size() - 1))},
        {"the token and one character more", bearer(token + "X")},
        {"the scheme with no token", "Bearer "},
        {"the token as the scheme", "Bearer" + token},
        {"the Basic scheme", "Basic " + token},
        {"the token without a scheme", token},
    };
}

// 401 from the handler itself: the JSON error envelope and the challenge of RFC 6750 §3, and
// nothing of what the request was after.
void checkRefused(const HttpResult& result, const std::vector<std::string>& notShown) {
    CHECK(result.status == 401);
    CHECK(isJsonAnswer(result));
    if (isJsonAnswer(result)) CHECK_FALSE(result.jsonString("error").empty());
    CHECK(result.header("WWW-Authenticate") == "Bearer");
    CHECK_FALSE(result.header("X-Request-Id").empty());
    for (const auto& text : notShown) CHECK(result.body.find(text) == std::string::npos);
}

// `name` registered through `server` with the token, its TXT proof published.
TestDomain registeredThrough(const ApiServer& server, const std::string& token,
                             const std::string& name, Leftovers& leftovers) {
    const HttpResult created =
        call(server, "POST", "/domains", "{\"domain_name\": \"" + name + "\"}", bearer(token));
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain domain{created.jsonString("id"), name,
                            created.jsonString("verification_token")};
    REQUIRE(std::regex_match(domain.id, kHexId));
    leftovers.add(domain);
    setTxt(domain.challengeName(), domain.token);
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

// Every domain's verification token, as stored.
std::set<std::string> allVerificationTokens() {
    std::set<std::string> tokens;
    std::istringstream all(scalar("SELECT string_agg(verification_token, ' ') FROM domains"));
    for (std::string token; all >> token;) tokens.insert(token);
    return tokens;
}

// How many of `tokens` stand in `text`; `example` is one of them.
int tokensIn(const std::string& text, const std::set<std::string>& tokens, std::string& example) {
    std::set<std::string> hex;
    collectHex64(text, hex);
    int found = 0;
    for (const auto& candidate : hex) {
        if (tokens.count(candidate)) {
            ++found;
            example = candidate;
        }
    }
    return found;
}

// Registered, verified, issued and published through `server` with the token, until active. The
// scheduler writing `schedulerLog` (at LOG_LEVEL=debug) polls the challenge name at least once
// while it still holds the verification token before the ACME value is published; the views
// after that look (the domain's, the list page) show no domain's token.
TestDomain activeDomainThrough(const ApiServer& server, const std::string& token,
                               const std::string& schedulerLog, Leftovers& leftovers) {
    const TestDomain domain =
        registeredThrough(server, token, uniqueDomainName("secrets"), leftovers);
    const std::string path = "/domains/" + domain.id;
    const HttpResult verified = call(server, "POST", path + "/verify", "", bearer(token));
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    const HttpResult issued = call(server, "POST", path + "/issue-certificate", "", bearer(token));
    REQUIRE_MESSAGE(issued.status == 202, issued.body);
    const std::string value = issued.jsonString("expected_txt_value");
    REQUIRE(std::regex_match(value, kTxtValue));
    const bool polled = waitFor(10s, [&] {
        std::istringstream lines(readFile(schedulerLog));
        for (std::string line; std::getline(lines, line);)
            if (line.find("\"level\":\"debug\"") != std::string::npos &&
                line.find("\"step\":\"await_dns\"") != std::string::npos &&
                line.find(domain.id) != std::string::npos)
                return true;
        return false;
    });
    REQUIRE_MESSAGE(
        polled, "no debug await_dns step in " << schedulerLog << ": " << readFile(schedulerLog));
    // That look saw the token still published and was recorded (the step line comes after it).
    const std::set<std::string> tokens = allVerificationTokens();
    REQUIRE(tokens.count(domain.token) == 1);
    // The domain's view: no token of any domain. The list page (500 of the shared database's
    // domains): not this domain's own; another registration's token at a name it shares (x and
    // *.x look at one _acme-challenge name) is shown in that registration's checks (README).
    for (const std::string& shown : {path, std::string("/domains?limit=500")}) {
        CAPTURE(shown);
        const HttpResult result = call(server, "GET", shown, "", bearer(token));
        REQUIRE_MESSAGE(result.status == 200, result.body);
        CHECK(result.body.find(domain.id) != std::string::npos);
        std::string example;
        const int leaked =
            tokensIn(result.body, shown == path ? tokens : std::set<std::string>{domain.token},
                     example);
        INFO("e.g. token " << example);
        CHECK(leaked == 0);
    }
    publish(domain, value);
    // Brings the lookup forward; the scheduler's own poll may have found the value first
    // (409: nothing is waiting for DNS any more).
    const HttpResult checked = call(server, "POST", path + "/check", "", bearer(token));
    CHECK_MESSAGE((checked.status == 202 || checked.status == 409), checked.body);
    requireAllActive({domain}, 30s);
    const HttpResult certificate = call(server, "GET", path + "/certificate", "", bearer(token));
    CHECK_MESSAGE(certificate.status == 200, certificate.body);
    CHECK(call(server, "GET", path, "", bearer(token)).jsonString("status") == "active");
    return domain;
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// The base64 lines between a PEM's BEGIN and END lines.
std::vector<std::string> pemBodyLines(const std::string& pem) {
    std::vector<std::string> lines;
    std::istringstream in(pem);
    for (std::string line; std::getline(in, line);) {
        line = trimmed(line);
        if (!line.empty() && line.rfind("-----", 0) != 0) lines.push_back(line);
    }
    return lines;
}

// The DER the base64 lines encode, as lowercase hex.
std::string derHex(const std::vector<std::string>& base64Lines) {
    std::string joined;
    for (const auto& line : base64Lines) joined += line;
    std::istringstream in(joined);
    Poco::Base64Decoder decoder(in);
    const std::vector<unsigned char> der{std::istreambuf_iterator<char>(decoder),
                                         std::istreambuf_iterator<char>()};
    return dnsh::lowerHex(der);
}

// What must never be in a log, each with what it is (for the failure message).
using Secrets = std::vector<std::pair<std::string, std::string>>;

// A private key's PEM body: each base64 line, and the DER in hex.
void addKeyBody(Secrets& secrets, const std::string& what, const std::string& keyPem) {
    REQUIRE(keyPem.find("PRIVATE KEY") != std::string::npos);
    const std::vector<std::string> lines = pemBodyLines(keyPem);
    REQUIRE(lines.size() >= 2);
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].size() >= 16)
            secrets.emplace_back(what + ", base64 line " + std::to_string(i + 1), lines[i]);
    const std::string hex = derHex(lines);
    REQUIRE(hex.size() >= 200);  // a P-256 PKCS#8 key is 138 bytes
    secrets.emplace_back(what + ", DER in hex", hex);
    secrets.emplace_back(what + ", DER in upper-case hex", upper(hex));
}

}  // namespace

TEST_CASE("fault: AUTH_TOKEN requires a Bearer token on every route through lighttpd") {
    const std::string token = "tok-" + dnsh::randomHex(16);
    Leftovers leftovers;
    // lighttpd hands AUTH_TOKEN to the handlers (bin-copy-environment), as in production.
    ApiServer server("auth", {{"AUTH_TOKEN", token}});
    const std::vector<Credentials> refusals = wrongCredentials(token);

    // POST /domains: refused ones register nothing.
    const std::string name = uniqueDomainName("auth");
    const std::string body = "{\"domain_name\": \"" + name + "\"}";
    for (const Credentials& wrong : refusals) {
        CAPTURE(wrong.description);
        const HttpResult result = call(server, "POST", "/domains", body, wrong.authorization);
        INFO("POST /domains -> " << result.status << " " << result.body);
        checkRefused(result, {name});
        CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);
    }
    // The token is published: a verify that got through would succeed.
    const TestDomain domain = registeredThrough(server, token, name, leftovers);

    const std::string id = quoted(domain.id);
    auto status = [&] { return scalar("SELECT status FROM domains WHERE id = " + id); };
    const std::string never = "'2100-01-01 00:00:00+00'";
    struct Route {
        std::string description, method, path;
        int allowed;                      // the status with the token
        std::function<void()> prepare;    // before the refused requests
        std::function<void()> unchanged;  // what a refused request must not have done
    };
    const std::string base = "/domains/" + domain.id;
    const std::vector<Route> routes{
        {"read the domain", "GET", base, 200, [] {}, [&] { CHECK(status() == "pending"); }},
        {"verify", "POST", base + "/verify", 200, [] {}, [&] { CHECK(status() == "pending"); }},
        {"issue a certificate", "POST", base + "/issue-certificate", 202, [] {},
         [&] {
             CHECK(status() == "verified");
             CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + id) == 0);
         }},
        // The order's next lookup moved out of reach: only an accepted check brings it to now.
        {"check DNS now", "POST", base + "/check", 202,
         [&] {
             execute("UPDATE acme_orders SET next_attempt_at = " + never +
                     " WHERE domain_id = " + id);
         },
         [&] {
             CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + id +
                         " AND next_attempt_at = " + never) == 1);
         }},
        {"read the certificate (none yet)", "GET", base + "/certificate", 404, [] {}, [] {}},
    };
    for (const Route& route : routes) {
        CAPTURE(route.description);
        route.prepare();
        for (const Credentials& wrong : refusals) {
            CAPTURE(wrong.description);
            const HttpResult result =
                call(server, route.method, route.path, "", wrong.authorization);
            INFO(route.method << " " << route.path << " -> " << result.status << " "
                              << result.body);
            checkRefused(result, {domain.id, domain.name, domain.token});
            route.unchanged();
        }
        const HttpResult allowed = call(server, route.method, route.path, "", bearer(token));
        INFO("with the token: " << allowed.status << " " << allowed.body);
        CHECK(allowed.status == route.allowed);
        CHECK(isJsonAnswer(allowed));
        CHECK(allowed.header("WWW-Authenticate").empty());
    }
    // The probes answer without it: load balancers call them, and many cannot send a header.
    // The metrics (counts of domains and orders) still need it.
    for (const std::string path : {"/healthz", "/readyz"}) {
        const HttpResult probe = call(server, "GET", path, "", std::nullopt);
        INFO(path << " without a token: " << probe.status << " " << probe.body);
        CHECK(probe.status == 200);
        CHECK(probe.body.find("\"ok\"") != std::string::npos);
        // HEAD too: probes that check with HEAD (deploy/api/openapi.json's head operations, open
        // like their GET).
        const HttpResult headProbe = call(server, "HEAD", path, "", std::nullopt);
        INFO("HEAD " << path << " without a token: " << headProbe.status);
        CHECK(headProbe.status == 200);
        CHECK(headProbe.header("WWW-Authenticate").empty());
    }
    CHECK(call(server, "GET", "/metrics", "", std::nullopt).status == 401);
    CHECK(call(server, "HEAD", "/metrics", "", std::nullopt).status == 401);
    // The scheme in any case (RFC 9110 §11.1), one or more spaces before the token (RFC 6750
    // §2.1), as clients write them.
    for (const std::string& authorization :
         {"bearer " + token, "BEARER " + token, "Bearer  " + token}) {
        CAPTURE(authorization);
        CHECK(call(server, "GET", base, "", authorization).status == 200);
    }
    CHECK(status() == "certificate_pending");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + id +
                " AND next_attempt_at <= now()") == 1);
}

TEST_CASE(
    "fault: no secrets in logs and no scheduler without a KEK and export-cert writes a verifiable "
    "pair") {
    // Without the key-encryption key the scheduler refuses to start, saying which variable.
    {
        SchedulerProcess scheduler(Env{{"KEY_ENCRYPTION_KEY_FILE", ""}});
        const auto exitStatus = scheduler.exitStatusWithin(5s);
        INFO("log: " << readFile(scheduler.logFile()));
        REQUIRE_MESSAGE(exitStatus.has_value(),
                        "dns-scheduler still running 5 s after start without a KEK");
        CHECK(*exitStatus != 0);
        CHECK(readFile(scheduler.logFile()).find("KEY_ENCRYPTION_KEY_FILE") != std::string::npos);
    }

    // An issuance of this case's own, so the logs hold one whatever ran before: handlers behind a
    // lighttpd started with AUTH_TOKEN and LOG_LEVEL=debug, a scheduler at debug with the token.
    const std::string authToken = "tok-" + dnsh::randomHex(16);
    Leftovers leftovers;
    ApiServer server("secrets", {{"AUTH_TOKEN", authToken}, {"LOG_LEVEL", "debug"}});
    auto scheduler = startScheduler({{"LOG_LEVEL", "debug"}, {"AUTH_TOKEN", authToken}});
    const TestDomain domain =
        activeDomainThrough(server, authToken, scheduler->logFile(), leftovers);
    const std::string schedulerLog = scheduler->logFile();
    CHECK(scheduler->terminate() == 0);
    // The logs checked below are the ones that saw it (the scheduler's at debug: see
    // activeDomainThrough).
    CHECK(readFile(server.handlersLog()).find(domain.id) != std::string::npos);
    CHECK(readFile(schedulerLog).find(domain.id) != std::string::npos);

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

    // What no log may hold: the API token, the KEK, any PEM, the bodies of the certificate key
    // and the ACME account key (decrypted as checkStoredKeyMatches does), and the verification
    // token of any domain (a domain's own token is only ever in its registration answer).
    const std::string kek = trimmed(readFile(requireEnv("KEY_ENCRYPTION_KEY_FILE")));
    REQUIRE(kek.size() == 64);
    Secrets secrets{{"AUTH_TOKEN", authToken},
                    {"the KEK", kek},
                    {"the KEK in upper case", upper(kek)},
                    {"a PEM private key", "PRIVATE KEY"},
                    {"a PEM certificate", "BEGIN CERTIFICATE"}};
    const auto encryptor = dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    addKeyBody(secrets, "the certificate key",
               encryptor.decrypt(scalar("SELECT private_key_ciphertext FROM certificates WHERE "
                                        "domain_id = " +
                                        quoted(domain.id) + " ORDER BY created_at DESC LIMIT 1"))
                   .str());
    addKeyBody(secrets, "the ACME account key",
               encryptor.decrypt(scalar("SELECT key_ciphertext FROM acme_accounts WHERE "
                                        "directory_url = " +
                                        quoted(requireEnv("ACME_DIRECTORY"))))
                   .str());
    const std::set<std::string> tokens = allVerificationTokens();
    REQUIRE(tokens.count(domain.token) == 1);

    // Every log of the run: the stack's (handlers.log: the shared lighttpd's handlers), every
    // lighttpd a case started (api-*/), every scheduler's, the CAs', and PostgreSQL's.
    const std::string logDir = requireEnv("DNSH_TEST_LOG_DIR");
    const std::string postgresLog = requireEnv("DNSH_TEST_DIR") + "/postgres/postgres.log";
    std::vector<std::string> files{postgresLog};
    for (const auto& entry : std::filesystem::recursive_directory_iterator(logDir))
        if (entry.is_regular_file()) files.push_back(entry.path().string());
    // The logs that saw this case's issuance hold something; the shared lighttpd's handlers.log
    // may be empty when no case before this one went through it.
    for (const std::string& required : {server.handlersLog().string(), schedulerLog, postgresLog}) {
        CAPTURE(required);
        CHECK_FALSE(readFile(required).empty());
    }
    CHECK(std::find(files.begin(), files.end(), logDir + "/handlers.log") != files.end());
    CHECK(std::find(files.begin(), files.end(), server.handlersLog().string()) != files.end());
    CHECK(std::find(files.begin(), files.end(), schedulerLog) != files.end());
    for (const std::string& file : files) {
        CAPTURE(file);
        const std::string text = readFile(file);
        for (const auto& [what, secret] : secrets) {
            CAPTURE(what);
            CHECK(text.find(secret) == std::string::npos);
        }
        // challtestsrv.log is the sandbox DNS server's own log: it records the TXT values
        // published in DNS, where the verification tokens are public by design.
        if (std::filesystem::path(file).filename() == "challtestsrv.log") continue;
        std::string example;
        const int leaked = tokensIn(text, tokens, example);
        INFO("e.g. token " << example);
        CHECK(leaked == 0);
    }
    MESSAGE("checked " << files.size() << " log file(s) against " << secrets.size()
                       << " secret(s) and " << tokens.size() << " verification token(s)");
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
