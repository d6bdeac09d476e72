#include "support/domain_flows.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/certificate.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

using Clock = std::chrono::steady_clock;

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done,
             std::chrono::milliseconds interval) {
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

CommandResult runCommand(const std::string& command) {
    CommandResult result;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t read = 0;
    while ((read = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, read);
    const int status = pclose(pipe);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dnsh-test.XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    return file;
}

std::string idList(const std::vector<TestDomain>& domains) {
    std::string list;
    for (const auto& domain : domains) {
        if (!list.empty()) list += ',';
        list += quoted(domain.id);
    }
    return list;
}

Leftovers::~Leftovers() {
    if (domains_.empty()) return;
    // A destructor must not throw: what cannot be cleaned up only affects these unique names.
    try {
        execute(
            "UPDATE acme_orders SET status = 'invalid', error = 'left over by a test', "
            "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL "
            "WHERE status IN ('pending', 'ready', 'processing') AND domain_id IN (" +
            idList(domains_) + "); UPDATE certificates SET renew_at = NULL WHERE domain_id IN (" +
            idList(domains_) +
            "); UPDATE domains SET status = 'failed', error = 'left over by a test' "
            "WHERE status = 'certificate_pending' AND id IN (" +
            idList(domains_) + ")");
    } catch (...) {
    }
    for (const auto& domain : domains_) {
        try {
            clearTxt(domain.challengeName());
        } catch (...) {
        }
    }
}

TestDomain registerDomain(const std::string& prefix, Leftovers& leftovers,
                          const std::string& profile) {
    const std::string name = uniqueDomainName(prefix);
    const HttpResult created = postJson(
        "/domains", "{\"domain_name\": \"" + name + "\"" +
                        (profile.empty() ? "" : ", \"profile\": \"" + profile + "\"") + "}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    TestDomain domain{created.jsonString("id"), name, created.jsonString("verification_token")};
    REQUIRE(std::regex_match(domain.id, kHexId));
    REQUIRE(created.jsonString("status") == "pending");
    leftovers.add(domain);
    return domain;
}

TestDomain verifiedDomain(const std::string& prefix, Leftovers& leftovers,
                          const std::string& profile) {
    TestDomain domain = registerDomain(prefix, leftovers, profile);
    setTxt(domain.challengeName(), domain.token);
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    REQUIRE(verified.jsonString("status") == "verified");
    return domain;
}

HttpResult issueCertificate(const TestDomain& domain) {
    return postJson("/domains/" + domain.id + "/issue-certificate", "");
}

std::string startIssuance(const TestDomain& domain) {
    const HttpResult started = issueCertificate(domain);
    REQUIRE_MESSAGE(started.status == 202, domain.name << ": " << started.body);
    const std::string value = started.jsonString("expected_txt_value");
    REQUIRE(std::regex_match(value, kTxtValue));
    return value;
}

void publish(const TestDomain& domain, const std::string& value) {
    clearTxt(domain.challengeName());
    setTxt(domain.challengeName(), value);
}

void checkTokenNotShown(const TestDomain& domain) {
    CAPTURE(domain.name);
    REQUIRE(domain.token.size() == 64);
    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE(view.status == 200);
    CHECK(view.body.find(domain.token) == std::string::npos);
    // Pages of 500, newest first, until one lists the domain.
    bool listed = false;
    std::string next;
    for (int pages = 0; !listed && pages < 100; ++pages) {
        const HttpResult page = get("/domains?limit=500" + (next.empty() ? "" : "&cursor=" + next));
        REQUIRE(page.status == 200);
        listed = page.body.find("\"id\":\"" + domain.id + "\"") != std::string::npos;
        if (listed) CHECK(page.body.find(domain.token) == std::string::npos);
        if (page.json()->isNull("next_cursor")) break;
        next = page.jsonString("next_cursor");
    }
    CHECK(listed);
    const CommandResult shown =
        runCommand(requireEnv("DNSH_ADMIN_BIN") + " show " + domain.id + " --json");
    CHECK_MESSAGE(shown.exitCode == 0, shown.output);
    CHECK(shown.output.find(domain.token) == std::string::npos);
    // Stored masked, not only shown so: the scheduler's checks as verify's.
    CHECK(scalar("SELECT coalesce(last_check, '') FROM domains WHERE id = " + quoted(domain.id))
              .find(domain.token) == std::string::npos);
}

std::string statusSummary(const std::vector<TestDomain>& domains) {
    return scalar(
        "SELECT string_agg(domain_name || '=' || status || coalesce(' (' || error || ')', ''), '; "
        "' "
        "ORDER BY domain_name) FROM domains WHERE id IN (" +
        idList(domains) + ")");
}

void requireAllActive(const std::vector<TestDomain>& domains, std::chrono::milliseconds timeout) {
    const std::string ids = idList(domains);
    const auto started = Clock::now();
    const bool settled =
        waitFor(timeout,
                [&] {
                    return count(
                               "SELECT count(*) FROM domains WHERE status IN ('active', 'failed') "
                               "AND id IN (" +
                               ids + ")") == static_cast<long long>(domains.size());
                }) ||
        count("SELECT count(*) FROM domains WHERE status = 'failed' AND id IN (" + ids + ")") > 0;
    const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
    MESSAGE("waited " << seconds << " s for " << domains.size() << " domain(s)");
    const long long active =
        count("SELECT count(*) FROM domains WHERE status = 'active' AND id IN (" + ids + ")");
    REQUIRE_MESSAGE(active == static_cast<long long>(domains.size()),
                    (settled ? "" : "timed out: ") << statusSummary(domains));
}

CommandResult inspectCertificate(const TestDomain& domain, const std::string& arguments) {
    TempDir dir;
    const std::string pem = dir.write(
        "cert.pem", scalar("SELECT certificate_pem FROM certificates WHERE domain_id = " +
                           quoted(domain.id) + " ORDER BY created_at DESC, id DESC LIMIT 1"));
    return runCommand("openssl x509 -noout " + arguments + " -in " + pem);
}

void checkStoredKeyMatches(const TestDomain& domain) {
    const std::string id = quoted(domain.id);
    const std::string leaf =
        scalar("SELECT certificate_pem FROM certificates WHERE domain_id = " + id +
               " ORDER BY created_at DESC LIMIT 1");
    const std::string sealed =
        scalar("SELECT private_key_ciphertext FROM certificates WHERE domain_id = " + id +
               " ORDER BY created_at DESC LIMIT 1");
    REQUIRE(leaf.find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(sealed.find("PRIVATE KEY") == std::string::npos);  // ciphertext, not PEM
    const auto encryptor = dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const dnsh::SecretString keyPem = encryptor.decrypt(sealed);
    CHECK(keyPem.view().find("PRIVATE KEY") != std::string::npos);
    const dnsh::Pkey key = dnsh::privateKeyFromPem(keyPem);
    CHECK(dnsh::certificateMatchesKey(leaf, key.get()));
}

TestDomain orderedDomain(const std::string& zone, const std::string& prefix, Leftovers& leftovers) {
    const std::string name = prefix + randomHex(6) + "." + zone;
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"" + name + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain domain{created.jsonString("id"), name,
                            created.jsonString("verification_token")};
    leftovers.add(domain);
    execute("UPDATE domains SET status = 'certificate_pending', verified_at = now() WHERE id = " +
            quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    return domain;
}

}  // namespace dnsh::test
