// Certificate issuance end to end (issue 3, README "How issuance and renewal work"): the
// issue-certificate handler through lighttpd, dns-scheduler children against the test stack's
// Pebble and pebble-challtestsrv, and the database they share. Every case stops its schedulers
// (RAII) and fails what it leaves in certificate_pending, so a later case's scheduler finds nothing
// of it.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using Clock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

namespace {

const std::regex kRfc3339Utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");

// Exactly one certificate and one order per domain, the certificate from that order, its key
// (decrypted with the KEK) matching it.
void checkOneCertificateEach(const std::vector<TestDomain>& domains) {
    for (const auto& domain : domains) {
        CAPTURE(domain.name);
        const std::string id = quoted(domain.id);
        CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + id) == 1);
        CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + id) == 1);
        CHECK(scalar("SELECT status FROM acme_orders WHERE domain_id = " + id) == "valid");
        CHECK(count("SELECT count(*) FROM certificates c JOIN acme_orders o ON o.id = c.order_id "
                    "WHERE c.domain_id = " +
                    id) == 1);
        checkStoredKeyMatches(domain);
    }
}

// "notAfter=Jun 25 16:30:00 2026 GMT" -> "2026-06-25T16:30:00Z"
std::string opensslDateToRfc3339(const std::string& line) {
    const std::string text = line.substr(line.find('=') + 1);
    struct tm parts {};
    if (strptime(text.c_str(), "%b %d %H:%M:%S %Y GMT", &parts) == nullptr)
        return "unparsable: " + text;
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return out;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// Seconds since the epoch of an RFC 3339 UTC time (fractions ignored).
long long epochSeconds(const std::string& rfc3339) {
    struct tm parts {};
    if (strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &parts) == nullptr) return -1;
    return static_cast<long long>(timegm(&parts));
}

}  // namespace

TEST_CASE("issuance: full lifecycle through lighttpd to an active, verifiable certificate") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("issue-life", leftovers);
    const std::string path = "/domains/" + domain.id;

    // No certificate before issuance.
    CHECK(get(path + "/certificate").status == 404);

    const HttpResult started = issueCertificate(domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    CHECK(started.header("Content-Type").find("application/json") == 0);
    const std::string orderId = started.jsonString("order_id");
    const std::string value = started.jsonString("expected_txt_value");
    CHECK(std::regex_match(orderId, kHexId));
    CHECK(started.jsonString("status") == "certificate_pending");
    CHECK(started.jsonString("challenge_domain") == domain.challengeName());
    CHECK(std::regex_match(value, kTxtValue));
    CHECK(value != domain.token);
    CHECK(started.jsonString("instructions") ==
          "Update the TXT record for " + domain.challengeName() + " to: " + value);
    // Every value the CA wants, listed; the single fields repeat the first.
    const auto challenges = started.json()->getArray("challenges");
    REQUIRE(challenges);
    REQUIRE(challenges->size() == 1);
    CHECK(challenges->getObject(0)->getValue<std::string>("expected_txt_value") == value);
    CHECK(challenges->getObject(0)->getValue<std::string>("challenge_domain") ==
          domain.challengeName());
    CHECK(started.json()->getValue<bool>("delegated") == false);
    CHECK(scalar("SELECT domain_id FROM acme_orders WHERE id = " + quoted(orderId)) == domain.id);
    CHECK(scalar("SELECT txt_value FROM acme_challenges WHERE order_id = " + quoted(orderId)) ==
          value);

    const HttpResult pending = get(path);
    REQUIRE(pending.status == 200);
    CHECK(pending.jsonString("status") == "certificate_pending");
    CHECK(pending.jsonString("challenge_domain") == domain.challengeName());
    CHECK(pending.jsonString("expected_txt_value") == value);

    const auto scheduler = startScheduler();
    publish(domain, value);
    requireAllActive({domain}, std::chrono::seconds(30));

    const HttpResult active = get(path);
    REQUIRE(active.status == 200);
    CHECK(active.jsonString("status") == "active");
    CHECK_FALSE(active.json()->has("expected_txt_value"));
    CHECK_FALSE(active.json()->has("error"));

    const HttpResult certificate = get(path + "/certificate");
    REQUIRE_MESSAGE(certificate.status == 200, certificate.body);
    CHECK(certificate.header("Content-Type").find("application/json") == 0);
    const auto json = certificate.json();
    const std::string certificateId = certificate.jsonString("id");
    CHECK(std::regex_match(certificateId, kHexId));
    CHECK(certificate.jsonString("domain_id") == domain.id);
    const std::string issuedAt = certificate.jsonString("issued_at");
    const std::string expiresAt = certificate.jsonString("expires_at");
    for (const char* field : {"issued_at", "expires_at", "created_at"}) {
        CAPTURE(field);
        CHECK(std::regex_match(certificate.jsonString(field), kRfc3339Utc));
    }
    CHECK(epochSeconds(issuedAt) < epochSeconds(expiresAt));
    for (const auto& [name, unused] : *json) {
        CAPTURE(name);
        CHECK(name.find("pem") == std::string::npos);
        CHECK(name.find("key") == std::string::npos);
    }
    CHECK(certificate.body.find("BEGIN") == std::string::npos);
    CHECK(certificate.body.find("PRIVATE") == std::string::npos);
    CHECK(scalar("SELECT id FROM certificates WHERE domain_id = " + quoted(domain.id)) ==
          certificateId);
    CHECK(scalar("SELECT order_id FROM certificates WHERE domain_id = " + quoted(domain.id)) ==
          orderId);

    // The stored chain verifies against Pebble's root, for the right name, with the right dates.
    const std::string leafPem =
        scalar("SELECT certificate_pem FROM certificates WHERE id = " + quoted(certificateId));
    const std::string chainPem =
        scalar("SELECT chain_pem FROM certificates WHERE id = " + quoted(certificateId));
    REQUIRE(leafPem.find("BEGIN CERTIFICATE") != std::string::npos);
    REQUIRE(chainPem.find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(leafPem != chainPem);
    TempDir dir;
    const std::string root = dir.write("root.pem", pebbleRootPem());
    const std::string chain = dir.write("chain.pem", chainPem);
    const std::string leaf = dir.write("leaf.pem", leafPem);
    const CommandResult verify =
        runCommand("openssl verify -CAfile " + root + " -untrusted " + chain + " " + leaf);
    CHECK_MESSAGE(verify.exitCode == 0, verify.output);
    CHECK(verify.output.find(leaf + ": OK") != std::string::npos);
    // Sanity of the check itself: the leaf alone (without its intermediate) does not verify.
    CHECK(runCommand("openssl verify -CAfile " + root + " " + leaf).exitCode != 0);

    const CommandResult san = runCommand("openssl x509 -noout -ext subjectAltName -in " + leaf);
    REQUIRE_MESSAGE(san.exitCode == 0, san.output);
    std::vector<std::string> dnsNames;
    const std::regex dnsName(R"(DNS:([^,\s]+))");
    for (auto it = std::sregex_iterator(san.output.begin(), san.output.end(), dnsName);
         it != std::sregex_iterator(); ++it)
        dnsNames.push_back((*it)[1]);
    CHECK_MESSAGE(dnsNames == std::vector<std::string>{domain.name}, san.output);

    const CommandResult notBefore = runCommand("openssl x509 -noout -startdate -in " + leaf);
    const CommandResult notAfter = runCommand("openssl x509 -noout -enddate -in " + leaf);
    CHECK(opensslDateToRfc3339(trimmed(notBefore.output)) == issuedAt.substr(0, 19) + "Z");
    CHECK(opensslDateToRfc3339(trimmed(notAfter.output)) == expiresAt.substr(0, 19) + "Z");

    // The key: encrypted at rest, and the decrypted one is the certificate's.
    const std::string sealed = scalar(
        "SELECT private_key_ciphertext FROM certificates WHERE id = " + quoted(certificateId));
    CHECK_FALSE(sealed.empty());
    CHECK(sealed.find("PRIVATE KEY") == std::string::npos);
    CHECK(sealed.find("BEGIN") == std::string::npos);
    const auto encryptor = dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const dnsh::Pkey key = dnsh::privateKeyFromPem(encryptor.decrypt(sealed));
    CHECK(dnsh::certificateMatchesKey(leafPem, key.get()));
    const dnsh::Pkey stranger = dnsh::generateEcdsaP256Key();
    CHECK_FALSE(dnsh::certificateMatchesKey(leafPem, stranger.get()));

    checkOneCertificateEach({domain});

    // Nothing of the key or the PEM in the scheduler's log.
    const std::string log = readFile(scheduler->logFile());
    CHECK(log.find("PRIVATE KEY") == std::string::npos);
    CHECK(log.find("BEGIN CERTIFICATE") == std::string::npos);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("issuance: TXT value never published ends failed with the reason after POLL_TIMEOUT") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("issue-timeout", leftovers);
    const std::string value =
        startIssuance(domain);  // the verification token stays; value never set
    CHECK(get("/domains/" + domain.id).jsonString("expected_txt_value") == value);
    const auto scheduler = startScheduler(Env{{"POLL_TIMEOUT", "2s"}});

    // A missed lookup before POLL_TIMEOUT is not a failure: the first one leaves it pending.
    REQUIRE(waitFor(std::chrono::seconds(5), [&] {
        return scalar("SELECT last_check FROM domains WHERE id = " + quoted(domain.id))
                   .find("next_check_at") != std::string::npos;
    }));
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");

    const auto started = Clock::now();
    const bool failed = waitFor(std::chrono::seconds(10), [&] {
        return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "failed";
    });
    MESSAGE("failed after " << std::chrono::duration<double>(Clock::now() - started).count()
                            << " s");
    REQUIRE_MESSAGE(failed, statusSummary({domain}));

    const HttpResult shown = get("/domains/" + domain.id);
    REQUIRE(shown.status == 200);
    CHECK(shown.jsonString("status") == "failed");
    const std::string error = shown.jsonString("error");
    CAPTURE(error);
    CHECK(error.find("TXT values not visible within 2s") != std::string::npos);
    // It names what was last seen: the verification token, not the value the CA wants.
    CHECK(error.find("found 1 TXT value(s) at " + domain.challengeName() + ", none matching") !=
          std::string::npos);
    CHECK(shown.jsonString("error_code") == "txt_mismatch");
    const auto checks = shown.json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "txt_mismatch");
    CHECK(checks->getValue<std::string>("name") == domain.challengeName());
    CHECK(checks->getArray("expected")->getElement<std::string>(0) == value);
    CHECK(checks->getArray("seen")->size() == 1);
    // What was seen is the verification token, shown as verify shows it, never itself.
    CHECK(checks->getArray("seen")->getElement<std::string>(0) == kTokenShown);
    checkTokenNotShown(domain);
    CHECK_FALSE(shown.json()->has("expected_txt_value"));
    CHECK(get("/domains/" + domain.id + "/certificate").status == 404);
    CHECK(count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id)) == 0);
    // Failed is final: no live order is left for a scheduler to claim.
    CHECK(scalar("SELECT status FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
          "invalid");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id) +
                " AND (status IN ('pending', 'ready', 'processing') OR next_attempt_at IS NOT "
                "NULL OR lease_owner IS NOT NULL)") == 0);

    // issue-certificate on a failed domain is the retry: a fresh order with a new value, once
    // the domain's retry backoff has passed (tests/e2e/issue_claims_test.cpp: 429 before).
    HttpResult retried;
    REQUIRE(waitFor(std::chrono::seconds(10), [&] {
        retried = issueCertificate(domain);
        return retried.status != 429;
    }, std::chrono::milliseconds(500)));
    REQUIRE_MESSAGE(retried.status == 202, retried.body);
    CHECK(retried.jsonString("expected_txt_value") != value);
    CHECK(retried.jsonString("order_id") !=
          scalar("SELECT id FROM acme_orders WHERE status = 'invalid' AND domain_id = " +
                 quoted(domain.id)));
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 2);
    const HttpResult afterRetry = get("/domains/" + domain.id);
    CHECK_FALSE(afterRetry.json()->has("error"));
    CHECK(afterRetry.jsonString("expected_txt_value") == retried.jsonString("expected_txt_value"));
}

TEST_CASE("issuance: issue-certificate refuses unverified and unknown domains and wrong methods") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("issue-unverified", leftovers);

    const HttpResult unverified = issueCertificate(domain);
    CHECK(unverified.status == 409);
    CHECK(unverified.header("Content-Type").find("application/json") == 0);
    CHECK(unverified.jsonString("error") ==
          "domain must be verified first, current status: pending");
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "pending");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);

    const HttpResult unknown =
        postJson("/domains/" + dnsh::randomHex(16) + "/issue-certificate", "");
    CHECK(unknown.status == 404);
    CHECK(unknown.header("Content-Type").find("application/json") == 0);
    CHECK_FALSE(unknown.jsonString("error").empty());

    const HttpResult wrongMethod = get("/domains/" + domain.id + "/issue-certificate");
    CHECK(wrongMethod.status == 405);
    CHECK(wrongMethod.header("Allow").find("POST") != std::string::npos);
    CHECK(wrongMethod.header("Content-Type").find("application/json") == 0);
    CHECK_FALSE(wrongMethod.jsonString("error").empty());

    // Once active it is not verified either: the same 409 names the status.
    execute("UPDATE domains SET status = 'active' WHERE id = " + quoted(domain.id));
    const HttpResult active = issueCertificate(domain);
    CHECK(active.status == 409);
    CHECK(active.jsonString("error") == "domain must be verified first, current status: active");
}

TEST_CASE(
    "issuance: kill -9 of the scheduler mid-flight, then a restart, ends with every domain "
    "active") {
    Leftovers leftovers;
    std::vector<TestDomain> domains;
    for (int i = 0; i < 5; ++i) {
        domains.push_back(verifiedDomain("issue-kill", leftovers));
        publish(domains.back(), startIssuance(domains.back()));
    }
    const std::string ids = idList(domains);
    {
        const auto first = startScheduler(Env{{"SCHEDULER_LEASE", "2s"}});
        // Kill it the moment a certificate key is persisted but no certificate stored yet (between
        // finalize and download), or after 10 s at the latest: the domains are then spread over
        // challenge, authorization, finalize and download, some of them with a lease held.
        const bool keyPersisted = waitFor(
            std::chrono::seconds(10),
            [&] {
                return count(
                           "SELECT count(*) FROM acme_orders WHERE cert_key_ciphertext IS NOT NULL "
                           "AND step <> 'done' AND domain_id IN (" +
                           ids + ")") > 0;
            },
            std::chrono::milliseconds(10));
        if (!keyPersisted)
            FAIL_CHECK("no certificate key persisted within 10 s: " << describe(*first));
        first->kill9();
    }
    const std::string atKill = scalar(
        "SELECT string_agg(d.status || '/' || o.step || '/' || "
        "CASE WHEN o.cert_key_ciphertext IS NULL THEN 'no key' ELSE 'key' END || '/' || "
        "CASE WHEN o.lease_owner IS NULL THEN 'free' ELSE 'leased' END, ', ') "
        "FROM domains d JOIN acme_orders o ON o.domain_id = d.id WHERE d.id IN (" +
        ids + ")");
    MESSAGE("at the kill (status/step/key/lease): " << atKill);
    // Otherwise the kill hit nothing in flight and this case proves nothing.
    REQUIRE(count("SELECT count(*) FROM domains WHERE status = 'certificate_pending' AND id IN (" +
                  ids + ")") > 0);
    // Keys persisted before the kill must be the ones the certificates end up with.
    std::map<std::string, std::string> keysAtKill;
    for (const auto& domain : domains) {
        const std::string sealed = scalar(
            "SELECT cert_key_ciphertext FROM acme_orders WHERE domain_id = " + quoted(domain.id));
        if (!sealed.empty()) keysAtKill[domain.id] = sealed;
    }

    const auto second = startScheduler(Env{{"SCHEDULER_LEASE", "2s"}});
    requireAllActive(domains, std::chrono::seconds(30));
    checkOneCertificateEach(domains);
    for (const auto& [id, sealed] : keysAtKill) {
        CAPTURE(id);
        CHECK(scalar("SELECT private_key_ciphertext FROM certificates WHERE domain_id = " +
                     quoted(id)) == sealed);
    }
    CHECK(second->terminate() == 0);
}

TEST_CASE(
    "issuance: two scheduler replicas take 20 domains to active, one certificate and order each") {
    Leftovers leftovers;
    std::vector<TestDomain> domains;
    std::vector<std::string> values;
    for (int i = 0; i < 20; ++i) {
        domains.push_back(verifiedDomain("issue-replicas", leftovers));
        values.push_back(startIssuance(domains.back()));
    }
    // Both running before any order can move on: started one after the other with the values
    // already published, the first once took all 20 to active before the second had started.
    // Each has polled an order (a "step" line, debug for a poll) before the values are published:
    // a second replica still busy with its first turn once found all 20 taken by the first.
    const Env replica{{"SCHEDULER_WORKERS", "4"}, {"LOG_LEVEL", "debug"}};
    const auto first = startScheduler(replica);
    const auto second = startScheduler(replica);
    auto polling = [](const SchedulerProcess& scheduler) {
        return scheduler.log().find("\"msg\":\"step\"") != std::string::npos;
    };
    REQUIRE(waitFor(std::chrono::seconds(20), [&] { return polling(*first) && polling(*second); }));
    for (std::size_t i = 0; i < domains.size(); ++i) publish(domains[i], values[i]);
    requireAllActive(domains, std::chrono::seconds(45));
    checkOneCertificateEach(domains);
    CHECK(first->running());
    CHECK(second->running());

    auto stored = [](const std::string& file) {
        std::ifstream in(file);
        std::string line;
        int lines = 0;
        while (std::getline(in, line))
            if (line.find("certificate stored") != std::string::npos) ++lines;
        return lines;
    };
    const int byFirst = stored(first->logFile()), bySecond = stored(second->logFile());
    MESSAGE("certificates stored: first replica " << byFirst << ", second " << bySecond);
    CHECK(byFirst + bySecond == 20);
    // Both replicas took part: the queue is shared, not held by whoever started first.
    CHECK(byFirst > 0);
    CHECK(bySecond > 0);
    CHECK(first->terminate() == 0);
    CHECK(second->terminate() == 0);
}

TEST_CASE(
    "issuance: the scheduler places orders itself (place_order) against a CA rejecting half the "
    "nonces") {
    Leftovers leftovers;
    std::vector<TestDomain> domains;
    for (int i = 0; i < 3; ++i) domains.push_back(verifiedDomain("issue-nonce", leftovers));
    const std::string ids = idList(domains);
    // Orders the scheduler must place at the CA itself, as for a renewal or a replacement.
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id IN (" + ids +
            "); INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) "
            "SELECT replace(gen_random_uuid()::text, '-', ''), id, 'issue', 'place_order', now() "
            "FROM domains WHERE id IN (" +
            ids + ")");
    REQUIRE(count("SELECT count(*) FROM acme_orders WHERE order_url IS NULL AND domain_id IN (" +
                  ids + ")") == 3);

    const std::string directory = requireEnv("ACME_DIRECTORY_NONCEREJECT");
    REQUIRE(directory != requireEnv("ACME_DIRECTORY"));
    // deploy/test logs that Pebble's requests here; what this case adds to it is read below.
    const char* logDir = std::getenv("DNSH_TEST_LOG_DIR");
    const std::string pebbleLog = std::string(logDir ? logDir : "") + "/pebble-nonce.log";
    std::error_code ignored;
    const auto pebbleLogStart = std::filesystem::file_size(pebbleLog, ignored);
    const auto scheduler = startScheduler(Env{{"ACME_DIRECTORY", directory}});

    std::map<std::string, bool> published;
    const bool allPublished = waitFor(std::chrono::seconds(20), [&] {
        for (const auto& domain : domains) {
            if (published[domain.id]) continue;
            const std::string value = scalar(
                "SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE o.domain_id = " +
                quoted(domain.id) + " ORDER BY c.created_at DESC LIMIT 1");
            if (value.empty()) continue;
            CHECK(scalar("SELECT txt_name FROM acme_challenges c JOIN acme_orders o ON o.id = "
                         "c.order_id "
                         "WHERE o.domain_id = " +
                         quoted(domain.id) + " LIMIT 1") == domain.challengeName());
            publish(domain, value);
            published[domain.id] = true;
        }
        return std::all_of(domains.begin(), domains.end(),
                           [&](const TestDomain& d) { return published[d.id]; });
    });
    REQUIRE_MESSAGE(allPublished, statusSummary(domains));

    requireAllActive(domains, std::chrono::seconds(30));
    checkOneCertificateEach(domains);
    // The orders were placed with the nonce-rejecting CA, not the plain one.
    const std::string caBase =
        directory.substr(0, directory.find('/', std::string("https://").size()));
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id IN (" + ids +
                ") AND order_url LIKE " + quoted(caBase + "/%")) == 3);

    const std::string log = readFile(scheduler->logFile());
    CHECK(log.find("PRIVATE KEY") == std::string::npos);
    CHECK(scheduler->terminate() == 0);

    // Proof that nonces really were rejected and retried: without a single rejection the three
    // domains need exactly 3 newOrder, 3 challenge, 3 finalize and 3 certificate POSTs; each is
    // rejected with probability 1/2, so all 12 passing first time happens once in 4096 runs.
    std::ifstream pebble(pebbleLog);
    REQUIRE_MESSAGE(pebble, "no " << pebbleLog << ": the nonce rejections cannot be shown");
    REQUIRE(pebbleLogStart != static_cast<std::uintmax_t>(-1));
    pebble.seekg(static_cast<std::streamoff>(pebbleLogStart));
    int fixedPosts = 0;
    for (std::string line; std::getline(pebble, line);)
        for (const char* endpoint :
             {"POST /order-plz ", "POST /chalZ/", "POST /finalize-order/", "POST /certZ/"})
            if (line.find(endpoint) != std::string::npos) ++fixedPosts;
    MESSAGE("POSTs to newOrder, challenge, finalize and certificate: "
            << fixedPosts << " (12 without rejections)");
    CHECK(fixedPosts > 12);
}
