// KEK rotation with no restart (README, "Rotate the KEK"): KEY_ENCRYPTION_KEY_FILE names three
// files; the case walks the README's steps (next and previous in place, next renamed over the
// first, rotate-kek, the previous removed) while a client takes domain after domain from
// registration to an active certificate through a lighttpd of its own, with a scheduler of its
// own, on a scratch database. No answer may be other than expected, nothing may fail, nothing is
// restarted, and at the end every key is sealed under the new KEK and opens with it alone.
// And a rotation done wrong (README "Secrets"): a kek.next that others may read, put in place
// while an order is under way, holds that order (no attempt counted) until the file is fixed;
// it does not fail it.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "issuance/backoff.hpp"
#include "support/api_server.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// Written beside and renamed into place: a process reading it sees the old file or the new one.
// A KEK file must be private to its owner: `mode` other than 0600 only for a rotation done wrong.
void writeKeyFile(const std::string& path, const std::string& hex, mode_t mode = 0600) {
    const std::string temporary = path + ".tmp";
    std::ofstream(temporary) << hex << "\n";
    ::chmod(temporary.c_str(), mode);
    std::filesystem::rename(temporary, path);
}

// The scheduler's "step failed" lines naming `text`: a step that threw past the order runner, the
// order given back with no attempt counted (issuance/worker.cpp).
int stepFailuresNaming(const SchedulerProcess& scheduler, const std::string& text) {
    std::istringstream lines(scheduler.log());
    int found = 0;
    for (std::string line; std::getline(lines, line);)
        if (line.find("\"msg\":\"step failed\"") != std::string::npos &&
            line.find(text) != std::string::npos)
            ++found;
    return found;
}

CommandResult admin(const Env& env, const std::string& arguments) {
    std::string command;
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    return runCommand(command + requireEnv("DNSH_ADMIN_BIN") + " " + arguments);
}

// Domains taken to active one after another through `server` until stopped; every answer that
// is not the expected one is kept as a failure.
class IssuingClient {
public:
    explicit IssuingClient(const ApiServer& server) : server_(server), thread_([this] { run(); }) {}
    ~IssuingClient() { stop(); }

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int active() const { return active_; }
    std::vector<std::string> failures() const {
        std::lock_guard lock(mutex_);
        return failures_;
    }
    std::vector<std::string> activeIds() const {
        std::lock_guard lock(mutex_);
        return activeIds_;
    }
    // Waits until `more` further domains are active; whether they were within `timeout`.
    bool waitForMore(int more, std::chrono::milliseconds timeout) const {
        const int target = active_ + more;
        return waitFor(timeout, [&] { return active_ >= target || stopping_; }) && active_ >= target;
    }

private:
    HttpResult call(const std::string& method, const std::string& path) const {
        HttpRequest request{method, path, "", "", {}};
        return send(server_.baseUrl(), request);
    }

    bool expect(const HttpResult& result, int status, const std::string& what) {
        if (result.status == status) return true;
        std::lock_guard lock(mutex_);
        failures_.push_back(what + ": " + std::to_string(result.status) + " " + result.body);
        return false;
    }

    void takeOneToActive() {
        const std::string name = uniqueDomainName("kekrotation");
        HttpRequest create{"POST", "/domains", "{\"domain_name\": \"" + name + "\"}",
                           "application/json", {}};
        const HttpResult created = send(server_.baseUrl(), create);
        if (!expect(created, 201, "POST /domains " + name)) return;
        const TestDomain domain{created.jsonString("id"), name,
                                created.jsonString("verification_token")};
        const std::string path = "/domains/" + domain.id;
        setTxt(domain.challengeName(), domain.token);
        if (!expect(call("POST", path + "/verify"), 200, "verify " + name)) return;
        // Opens the ACME account key (sealed) in the handler; the first one seals it.
        const HttpResult issued = call("POST", path + "/issue-certificate");
        if (!expect(issued, 202, "issue-certificate " + name)) return;
        // No POST .../check: the scheduler polls every 200 ms and may have moved on already.
        publish(domain, issued.jsonString("expected_txt_value"));
        // The scheduler seals the certificate key, opens it for the CSR and the download.
        std::string status;
        waitFor(30s, [&] {
            status = call("GET", path).jsonString("status");
            return status == "active" || status == "failed";
        });
        clearTxt(domain.challengeName());
        if (status != "active") {
            std::lock_guard lock(mutex_);
            failures_.push_back(name + " ended " + status + ": " + call("GET", path).body);
            return;
        }
        if (!expect(call("GET", path + "/certificate"), 200, "GET certificate " + name)) return;
        std::lock_guard lock(mutex_);
        activeIds_.push_back(domain.id);
        ++active_;
    }

    void run() {
        while (!stopping_) takeOneToActive();
    }

    const ApiServer& server_;
    mutable std::mutex mutex_;
    std::vector<std::string> failures_;
    std::vector<std::string> activeIds_;
    std::atomic<int> active_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("KEK rotation with no restart: issuance through the API and the scheduler never fails") {
    const TempDir keys;
    const std::string kek = keys.path() + "/kek", next = keys.path() + "/kek.next",
                      previous = keys.path() + "/kek.previous";
    const std::string oldHex = dnsh::randomHex(32), newHex = dnsh::randomHex(32);
    writeKeyFile(kek, oldHex);
    const std::string oldId = dnsh::KeyEncryptor::fromFile(kek).keyId();
    ScratchDatabase db("dnsh_kek_rotation");
    // A short lease: a step in flight when rotate-kek commits is over (or powerless) soon after.
    const auto lease = 3s;
    const Env env{{"DATABASE_URL", db.url()},
                  {"KEY_ENCRYPTION_KEY_FILE", kek + "," + next + "," + previous},
                  {"SCHEDULER_LEASE", std::to_string(lease.count()) + "s"}};
    const CommandResult migrated = admin(env, "migrate");
    REQUIRE_MESSAGE(migrated.exitCode == 0, migrated.output);
    ApiServer server("kek-rotation", env);
    auto scheduler = startScheduler(env);
    const int schedulerPid = scheduler->pid();
    IssuingClient client(server);
    auto progress = [&](const char* step) {
        INFO("after " << step << "; failures so far: " << client.failures().size());
        REQUIRE_MESSAGE(client.waitForMore(2, 90s), describe(*scheduler));
    };
    progress("starting under the old KEK");
    CHECK(db.text("SELECT key_id FROM acme_accounts") == oldId);

    // 1. Every host learns the new KEK (it opens) and keeps the old one as the previous.
    writeKeyFile(next, newHex);
    writeKeyFile(previous, oldHex);
    progress("the new KEK added as kek.next");
    // 2. The new KEK seals from now on (one rename per host); the old one still opens.
    std::filesystem::rename(next, kek);
    const std::string newId = dnsh::KeyEncryptor::fromFile(kek).keyId();
    progress("kek.next renamed over kek");
    // 3. Everything sealed under the old KEK re-sealed under the new one, while all runs.
    const CommandResult rotated = admin(env, "rotate-kek");
    CHECK_MESSAGE(rotated.exitCode == 0, rotated.output);
    progress("rotate-kek");
    // A step in flight at the commit may store a key it read before (labelled with the old
    // KEK's id): once a lease has passed, a rerun moves it too. Then nothing is left under it.
    std::this_thread::sleep_for(lease + 1s);
    const CommandResult rerun = admin(env, "rotate-kek");
    CHECK_MESSAGE(rerun.exitCode == 0, rerun.output);
    const std::string sealedUnder =
        "SELECT string_agg(DISTINCT k, ',') FROM (SELECT key_id k FROM certificates UNION ALL "
        "SELECT key_id FROM acme_accounts UNION ALL SELECT cert_key_id FROM acme_orders WHERE "
        "cert_key_ciphertext IS NOT NULL) s";
    CHECK(db.text(sealedUnder) == newId);
    // 4. The old KEK removed: only the new one opens from now on.
    std::filesystem::remove(previous);
    progress("kek.previous removed");
    client.stop();

    for (const auto& failure : client.failures()) FAIL_CHECK(failure);
    CHECK(client.active() >= 10);
    CHECK(db.text(sealedUnder) == newId);
    CHECK(db.text("SELECT count(*)::text FROM domains WHERE status = 'failed'") == "0");
    CHECK(scheduler->running());
    CHECK(scheduler->pid() == schedulerPid);
    // Every certificate's key opens with the new KEK alone (a fresh process, only kek listed).
    const Env newOnly{{"DATABASE_URL", db.url()}, {"KEY_ENCRYPTION_KEY_FILE", kek}};
    for (const auto& id : client.activeIds()) {
        const TempDir out;
        const CommandResult exported =
            admin(newOnly, "export-cert " + id + " --out " + out.path() + "/pem");
        CHECK_MESSAGE(exported.exitCode == 0, id << ": " << exported.output);
    }
}

TEST_CASE("KEK rotation done wrong: a kek.next open to others holds an order under way, with no "
          "attempt counted, and it goes on to active once the file is private") {
    const TempDir keys;
    const std::string kek = keys.path() + "/kek", next = keys.path() + "/kek.next";
    writeKeyFile(kek, dnsh::randomHex(32));
    ScratchDatabase db("dnsh_kek_next_mode");
    const Env env{{"DATABASE_URL", db.url()}, {"KEY_ENCRYPTION_KEY_FILE", kek + "," + next}};
    const CommandResult migrated = admin(env, "migrate");
    REQUIRE_MESSAGE(migrated.exitCode == 0, migrated.output);
    ApiServer server("kek-next-mode", env);
    const auto scheduler = startScheduler(env);
    const int schedulerPid = scheduler->pid();

    // Registered, verified and ordered (the handler opens the account key) with the files right.
    const std::string name = uniqueDomainName("keknextmode");
    const HttpResult created = send(
        server.baseUrl(),
        {"POST", "/domains", "{\"domain_name\": \"" + name + "\"}", "application/json", {}});
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain domain{created.jsonString("id"), name,
                            created.jsonString("verification_token")};
    const std::string path = "/domains/" + domain.id;
    auto call = [&](const std::string& method, const std::string& what) {
        return send(server.baseUrl(), {method, what, "", "", {}});
    };
    setTxt(domain.challengeName(), domain.token);
    const HttpResult verified = call("POST", path + "/verify");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    const HttpResult issued = call("POST", path + "/issue-certificate");
    REQUIRE_MESSAGE(issued.status == 202, issued.body);

    // Step 1 of a rotation without the chmod: every read of the files from now on refuses them.
    // The scheduler reads them again before it seals the certificate key (finalize).
    writeKeyFile(next, dnsh::randomHex(32), 0644);
    publish(domain, issued.jsonString("expected_txt_value"));
    const std::string refusal = "kek.next has mode 0644";
    std::string status;
    // More tries than an order's unexpected errors are allowed: counted, it would have failed.
    const bool heldLongEnough = waitFor(60s, [&] {
        status = call("GET", path).jsonString("status");
        return status != "certificate_pending" ||
               stepFailuresNaming(*scheduler, refusal) > dnsh::kMaxUnexpectedAttempts;
    });
    INFO("status " << status << "; " << describe(*scheduler));
    CHECK(heldLongEnough);
    // Before: "internal error" counted three times, then the order and the domain failed.
    CHECK(status == "certificate_pending");
    CHECK(db.text("SELECT attempts::text FROM acme_orders WHERE domain_id = '" + domain.id +
                  "'") == "0");

    // Fixed: the order goes on with the keys as they are now, nothing restarted.
    ::chmod(next.c_str(), 0600);
    CHECK(waitFor(60s, [&] {
        status = call("GET", path).jsonString("status");
        return status == "active" || status == "failed";
    }));
    clearTxt(domain.challengeName());
    CHECK(status == "active");
    CHECK(call("GET", path + "/certificate").status == 200);
    CHECK(scheduler->running());
    CHECK(scheduler->pid() == schedulerPid);
}
