// Claims of the README that had no test of their own: the scheduler answers a challenge only
// once its own lookup sees the value, follows CNAMEs, and reports a challenge the CA rejects with
// the CA's reason; RSA keys; the next resolver after a dead one; a kill -9 at every stored step;
// the request id in log lines; 411 without Content-Length; concurrent migrations.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

std::string logPath(const std::string& name) {
    return requireEnv("DNSH_TEST_LOG_DIR") + "/" + name;
}

// Lines of `text` holding `part`.
int linesWith(const std::string& text, const std::string& part) {
    int lines = 0;
    for (std::size_t at = 0; (at = text.find(part, at)) != std::string::npos; ++at) ++lines;
    return lines;
}

std::string orderStep(const TestDomain& domain) {
    return scalar(
        "SELECT step || CASE WHEN cert_key_ciphertext IS NULL THEN '' ELSE '+key' END "
        "FROM acme_orders WHERE domain_id = " +
        quoted(domain.id));
}

}  // namespace

TEST_CASE("claims: the scheduler answers the challenge only once its own lookup sees the value") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("answer-after-lookup", leftovers);
    const std::string value = startIssuance(domain);
    // Pebble logs each challenge POST (without its id); e2e cases run one at a time, so the
    // lines this case adds are its scheduler's.
    const std::string pebbleLog = logPath("pebble.log");
    const std::size_t logStart = readFile(pebbleLog).size();
    auto challengePosts = [&] {
        return linesWith(readFile(pebbleLog).substr(logStart), "POST /chalZ/");
    };
    const auto scheduler = startScheduler(Env{{"POLL_INTERVAL", "100ms"}, {"LOG_LEVEL", "debug"}});
    // Several lookups that see only the verification token (each poll logs a debug step)...
    REQUIRE(waitFor(10s, [&] {
        return linesWith(readFile(scheduler->logFile()), "\"step\":\"await_dns\"") >= 3;
    }));
    CHECK(count("SELECT count(*) FROM domains WHERE id = " + quoted(domain.id) +
                " AND last_check LIKE '%txt_mismatch%'") == 1);
    // ...and not one challenge answered at the CA.
    CHECK(challengePosts() == 0);
    publish(domain, value);
    requireAllActive({domain}, 20s);
    // Answered now (twice when Pebble rejected the first nonce: its default rejects 5%).
    CHECK(challengePosts() >= 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("claims: the scheduler follows a CNAME from the challenge name to the value") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("cname-follow", leftovers);
    const std::string value = startIssuance(domain);
    SandboxRecords dns;
    const std::string target = uniqueDomainName("cname-target");
    clearTxt(domain.challengeName());
    dns.txt(target, value);
    dns.cname(domain.challengeName(), target);
    const auto scheduler = startScheduler();
    requireAllActive({domain}, 20s);
    const auto checks = get("/domains/" + domain.id).json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "found");
    CHECK(checks->getValue<std::string>("name") == domain.challengeName());
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("claims: a challenge the CA rejects ends failed with the CA's reason") {
    // The scheduler asks a DNS server of this case's own, which has the value; Pebble asks the
    // sandbox DNS, which does not: our lookup passes, the CA's validation fails.
    // Ports nothing listens on: a random one already taken made challtestsrv exit at once, and
    // the case wait for an API that never came.
    const int dnsPort = freeLoopbackPort();
    const int apiPort = freeLoopbackPort();
    const CommandResult started = runCommand(
        requireEnv("DNSH_CHALLTESTSRV") + " -dnsserver 127.0.0.1:" + std::to_string(dnsPort) +
        " -management 127.0.0.1:" + std::to_string(apiPort) +
        " -http01 '' -https01 '' -tlsalpn01 '' -doh '' -defaultIPv4 127.0.0.1"
        " -defaultIPv6 '' >/dev/null 2>&1 & echo $!");
    REQUIRE(started.exitCode == 0);
    struct Killer {
        std::string pid;
        ~Killer() { runCommand("kill " + pid); }
    } killer{started.output.substr(0, started.output.find('\n'))};
    const std::string api = "http://127.0.0.1:" + std::to_string(apiPort);
    REQUIRE(waitFor(5s, [&] {
        return runCommand("curl -sf -X POST " + api + "/clear-txt -d '{\"host\":\"x.\"}'")
                   .exitCode == 0;
    }));

    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("ca-rejects", leftovers);
    const std::string value = startIssuance(domain);
    REQUIRE(runCommand("curl -sf -X POST " + api + "/set-txt -d '{\"host\":\"" +
                       domain.challengeName() + ".\",\"value\":\"" + value + "\"}'")
                .exitCode == 0);
    const auto scheduler =
        startScheduler(Env{{"DNS_RESOLVER", "127.0.0.1:" + std::to_string(dnsPort)}});
    REQUIRE(waitFor(20s, [&] {
        return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "failed";
    }));
    const HttpResult shown = get("/domains/" + domain.id);
    CHECK(shown.jsonString("error_code") == "ca_invalid");
    const std::string error = shown.jsonString("error");
    CAPTURE(error);
    CHECK(error.find("the CA rejected the dns-01 challenge") != std::string::npos);
    CHECK(error.find("urn:ietf:params:acme:error:") != std::string::npos);  // the CA's own words
    // Our own lookup had seen the value.
    const auto checks = shown.json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "found");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("claims: CERT_KEY_TYPE=rsa-2048 issues a certificate for a 2048-bit RSA key") {
    Leftovers leftovers;
    const auto scheduler = startScheduler(Env{{"CERT_KEY_TYPE", "rsa-2048"}});
    const TestDomain domain = verifiedDomain("rsa", leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 30s);
    const CommandResult text = inspectCertificate(domain, "-text");
    REQUIRE(text.exitCode == 0);
    CHECK(text.output.find("rsaEncryption") != std::string::npos);
    CHECK(text.output.find("(2048 bit)") != std::string::npos);
    checkStoredKeyMatches(domain);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("claims: a DNS_RESOLVER that does not answer is passed over for the next one") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("resolver-fallback", leftovers);
    publish(domain, startIssuance(domain));
    // Nothing listens on port 9: every lookup times out there first, then asks the sandbox DNS.
    const auto scheduler = startScheduler(Env{
        {"DNS_RESOLVER", "127.0.0.1:9," + requireEnv("DNS_RESOLVER")}, {"DNS_TIMEOUT", "300ms"}});
    requireAllActive({domain}, 20s);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("claims: kill -9 of the scheduler at each stored step resumes to one certificate") {
    struct Case {
        std::string description;
        std::string state;  // orderStep() at which the scheduler is killed
    };
    const std::vector<Case> cases{
        {"waiting for DNS", "await_dns"},
        {"waiting for the authorization (challenge answered)", "await_authz"},
        {"key persisted, finalize sent, certificate being stored", "await_order+key"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        Leftovers leftovers;
        const TestDomain domain = verifiedDomain("kill-step", leftovers);
        const std::string value = startIssuance(domain);
        const Env env{{"SCHEDULER_LEASE", "1s"}, {"POLL_INTERVAL", "100ms"}};
        // The last step ends in one transaction: held there by refusing the certificate insert
        // (as a database error would), so the kill lands after finalize, every time.
        const std::string trigger = "kill_step_" + domain.id.substr(0, 8);
        if (c.state == "await_order+key")
            execute("CREATE FUNCTION " + trigger +
                    "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.domain_id = " +
                    quoted(domain.id) +
                    " THEN RAISE EXCEPTION 'held by test'; END IF; RETURN NEW; END $$; "
                    "CREATE TRIGGER " +
                    trigger + " BEFORE INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION " +
                    trigger + "()");
        std::string keyAtKill;
        {
            const auto first = startScheduler(env);
            if (c.state != "await_dns") publish(domain, value);
            const bool reached = waitFor(
                15s, [&] { return orderStep(domain) == c.state; }, 1ms);
            first->kill9();
            if (c.state == "await_order+key")
                execute("DROP TRIGGER " + trigger + " ON certificates; DROP FUNCTION " + trigger +
                        "()");
            REQUIRE_MESSAGE(reached, "order at " << orderStep(domain));
            keyAtKill = scalar(
                "SELECT coalesce(cert_key_ciphertext, '') FROM acme_orders "
                "WHERE domain_id = " +
                quoted(domain.id));
        }
        if (c.state == "await_dns") publish(domain, value);
        const auto second = startScheduler(env);
        requireAllActive({domain}, 20s);
        CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
              1);
        CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id)) ==
              1);
        if (!keyAtKill.empty())
            CHECK(scalar("SELECT private_key_ciphertext FROM certificates WHERE domain_id = " +
                         quoted(domain.id)) == keyAtKill);
        checkStoredKeyMatches(domain);
        CHECK(second->terminate() == 0);
    }
}

TEST_CASE("claims: the request id is in every log line written while serving the request") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("request-id", leftovers);
    const std::string id = "claims-" + domain.id.substr(0, 12);
    setTxt(domain.challengeName(), domain.token);
    const HttpResult answer = send(baseUrl(), {"POST",
                                               "/domains/" + domain.id + "/verify",
                                               "",
                                               "application/json",
                                               {{"X-Request-Id", id}}});
    CHECK(answer.status == 200);
    CHECK(answer.header("X-Request-Id") == id);
    // The verify handler logs its lookup and the verification, then the request line: all three
    // carry the id (lighttpd's handlers write to handlers.log; lines may take a moment).
    auto linesWithId = [&](const std::string& message) {
        std::istringstream lines(readFile(logPath("handlers.log")));
        int found = 0;
        for (std::string line; std::getline(lines, line);)
            if (line.find("\"msg\":\"" + message + "\"") != std::string::npos &&
                line.find("\"request_id\":\"" + id + "\"") != std::string::npos)
                ++found;
        return found;
    };
    REQUIRE(waitFor(5s, [&] { return linesWithId("request") == 1; }));
    CHECK(linesWithId("dns lookup") == 1);
    CHECK(linesWithId("domain verified") == 1);
}

TEST_CASE("claims: a POST without Content-Length gets lighttpd's 411 as JSON") {
    const HttpResult answer =
        sendRawRequest(baseUrl(),
                       "POST /domains/0123456789abcdef0123456789abcdef/verify HTTP/1.1\r\nHost: "
                       "127.0.0.1\r\nConnection: close\r\n\r\n");
    CHECK(answer.status == 411);
    CHECK(answer.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK_FALSE(answer.jsonString("error").empty());
}

TEST_CASE("claims: concurrent dnsh-admin migrate runs apply each migration once") {
    ScratchDatabase scratch("dnsh_migrate_race");
    std::vector<std::future<CommandResult>> runs;
    for (int i = 0; i < 4; ++i)
        runs.push_back(std::async(std::launch::async, [&] {
            return runCommand("DATABASE_URL='" + scratch.url() + "' " +
                              requireEnv("DNSH_ADMIN_BIN") + " migrate");
        }));
    for (auto& run : runs) {
        const CommandResult result = run.get();
        INFO(result.output);
        CHECK(result.exitCode == 0);
    }
    CHECK(scratch.text("SELECT count(*) = count(DISTINCT name) FROM schema_migrations") == "t");
    CHECK(std::stoi(scratch.text("SELECT count(*) FROM schema_migrations")) >= 3);
    CHECK(scratch.text("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                       "'acme_orders'") == "1");
}
