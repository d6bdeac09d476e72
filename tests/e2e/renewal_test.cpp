// Renewal and the order-centric engine end to end (README "How issuance and renewal work", the
// domain view of "API"): dns-scheduler children against the test stack's Pebbles (one that never
// reuses authorizations, one issuing 40-second certificates that always does), through lighttpd.
// Every case stops its schedulers (RAII) and clears what it leaves live, so later cases find
// nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "acme/ari.hpp"
#include "acme/transport.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

const std::regex kRfc3339Utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");

struct Renewal {
    std::string status;  // "" when the view has no renewal object
    std::string renewAt, error, errorCode;
    std::vector<std::pair<std::string, std::string>> challenges;  // name, value
};

Renewal renewalOf(const HttpResult& view) {
    Renewal renewal;
    const auto object = view.json()->getObject("renewal");
    if (!object) return renewal;
    renewal.status = object->optValue<std::string>("status", "");
    renewal.renewAt = object->optValue<std::string>("renew_at", "");
    renewal.error = object->optValue<std::string>("error", "");
    renewal.errorCode = object->optValue<std::string>("error_code", "");
    if (const auto list = object->getArray("challenges"))
        for (std::size_t i = 0; i < list->size(); ++i)
            renewal.challenges.emplace_back(
                list->getObject(i)->getValue<std::string>("challenge_domain"),
                list->getObject(i)->getValue<std::string>("expected_txt_value"));
    return renewal;
}

std::string newestCertificateId(const TestDomain& domain) {
    return scalar("SELECT id FROM certificates WHERE domain_id = " + quoted(domain.id) +
                  " ORDER BY created_at DESC, id DESC LIMIT 1");
}

long long certificateCount(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

void makeDue(const TestDomain& domain) {
    execute("UPDATE certificates SET renew_at = now() WHERE id = " +
            quoted(newestCertificateId(domain)));
}

// Registered, verified, issued through the API with a scheduler running, and active.
TestDomain activeDomain(const std::string& prefix, Leftovers& leftovers) {
    TestDomain domain = verifiedDomain(prefix, leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 20s);
    return domain;
}

// As activeDomain, with a scheduler of its own that is stopped again: the case then starts the
// schedulers it is about.
TestDomain activeDomainNoScheduler(const std::string& prefix, Leftovers& leftovers) {
    const auto scheduler = startScheduler();
    const TestDomain domain = activeDomain(prefix, leftovers);
    CHECK(scheduler->terminate() == 0);
    return domain;
}

// Watches the domain view until `done` holds, recording every status it showed: a renewal must
// never move an active domain.
struct Watch {
    std::set<std::string> statuses;
    bool sawEmptyValue = false;
    HttpResult last;

    // Until the renewal waits for DNS; what it asks to publish.
    Renewal awaitingDns(const TestDomain& domain, std::chrono::milliseconds timeout) {
        Renewal renewal;
        const bool seen = until(domain, timeout, [&](const HttpResult& view) {
            renewal = renewalOf(view);
            return renewal.status == "awaiting_dns";
        });
        REQUIRE_MESSAGE(seen, "renewal never awaited DNS: " << last.body);
        return renewal;
    }

    bool until(const TestDomain& domain, std::chrono::milliseconds timeout,
               const std::function<bool(const HttpResult&)>& done) {
        return waitFor(
            timeout,
            [&] {
                last = get("/domains/" + domain.id);
                if (last.status != 200) return false;
                statuses.insert(last.jsonString("status"));
                if (last.body.find("\"expected_txt_value\":\"\"") != std::string::npos)
                    sawEmptyValue = true;
                return done(last);
            },
            100ms);
    }
};

// Publishes what a renewal awaiting DNS asks for, every value at its name.
void publishRenewalValues(const TestDomain& domain, const Renewal& renewal) {
    clearTxt(domain.challengeName());
    for (const auto& [name, value] : renewal.challenges) setTxt(name, value);
}

// The renewalInfo window the test stack's CA (ACME_DIRECTORY) suggests for a stored certificate,
// asked as the scheduler asks it (RFC 9773 §4.1: an unauthenticated GET of the CertID).
dnsh::acme::RenewalWindow caRenewalWindow(const std::string& certificateId) {
    const std::string leaf =
        scalar("SELECT certificate_pem FROM certificates WHERE id = " + quoted(certificateId));
    dnsh::acme::Transport transport(requireEnv("ACME_CA_BUNDLE"), 10s);
    const std::string base = transport.get(requireEnv("ACME_DIRECTORY"))
                                 .json()
                                 ->optValue<std::string>("renewalInfo", "");
    REQUIRE_MESSAGE(!base.empty(), "the test stack's CA offers no renewalInfo");
    return dnsh::acme::parseRenewalInfo(
        transport.get(base + "/" + dnsh::acme::ariCertId(leaf)).body);
}

long long epochMs(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace

TEST_CASE(
    "renewal: a due certificate is renewed while the domain stays active: the values are shown, "
    "published, and the old certificate is kept") {
    Leftovers leftovers;
    const auto scheduler = startScheduler();
    const TestDomain domain = activeDomain("renew-dns", leftovers);
    const std::string firstCert = newestCertificateId(domain);
    const std::string firstValue = scalar(
        "SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.domain_id = " +
        quoted(domain.id));

    // renew_at: a time in the window the CA's renewalInfo suggests for this certificate (RFC 9773
    // §4.2; Pebble's is two thirds into the lifetime ± 24 h), not RENEW_BEFORE's third. Stored
    // to the second: a second of slack on each side.
    const dnsh::acme::RenewalWindow window = caRenewalWindow(firstCert);
    const long long renewAtMs =
        std::stoll(scalar("SELECT (extract(epoch FROM renew_at) * 1000)::bigint FROM certificates "
                          "WHERE id = " +
                          quoted(firstCert)));
    CAPTURE(renewAtMs);
    CHECK(renewAtMs >= epochMs(window.start) - 1000);
    CHECK(renewAtMs <= epochMs(window.end) + 1000);
    const HttpResult before = get("/domains/" + domain.id);
    CHECK(renewalOf(before).status == "scheduled");
    CHECK(std::regex_match(renewalOf(before).renewAt, kRfc3339Utc));
    CHECK(before.json()->getObject("certificate")->getValue<std::string>("id") == firstCert);

    makeDue(domain);
    Watch watch;
    const Renewal awaiting = watch.awaitingDns(domain, 15s);
    REQUIRE(awaiting.challenges.size() == 1);
    CHECK(awaiting.challenges[0].first == domain.challengeName());
    CHECK(std::regex_match(awaiting.challenges[0].second, kTxtValue));
    CHECK(awaiting.challenges[0].second != firstValue);
    CHECK(watch.last.json()
              ->getObject("renewal")
              ->getValue<std::string>("instructions")
              .find(awaiting.challenges[0].second) != std::string::npos);
    // The current certificate is still the one served.
    CHECK(get("/domains/" + domain.id + "/certificate").jsonString("id") == firstCert);

    publishRenewalValues(domain, awaiting);
    REQUIRE(watch.until(domain, 20s, [&](const HttpResult&) {
        return certificateCount(domain) == 2 && renewalOf(watch.last).status == "scheduled";
    }));
    CHECK(watch.statuses == std::set<std::string>{"active"});
    CHECK_FALSE(watch.sawEmptyValue);

    const std::string secondCert = newestCertificateId(domain);
    CHECK(secondCert != firstCert);
    CHECK(get("/domains/" + domain.id + "/certificate").jsonString("id") == secondCert);
    CHECK(watch.last.json()->getObject("certificate")->getValue<std::string>("id") == secondCert);
    CHECK(std::regex_match(renewalOf(watch.last).renewAt, kRfc3339Utc));
    // The old row stays, no longer renewing; the new one renews; one renewal order did it.
    CHECK(scalar("SELECT coalesce(renew_at::text, 'none') FROM certificates WHERE id = " +
                 quoted(firstCert)) == "none");
    CHECK(scalar("SELECT coalesce(renew_at::text, 'none') FROM certificates WHERE id = " +
                 quoted(secondCert)) != "none");
    CHECK(scalar("SELECT string_agg(kind || ':' || status, ',' ORDER BY created_at) FROM "
                 "acme_orders WHERE domain_id = " +
                 quoted(domain.id)) == "issue:valid,renewal:valid");
    CHECK(scalar("SELECT replaces_certificate_id FROM acme_orders WHERE kind = 'renewal' AND "
                 "domain_id = " +
                 quoted(domain.id)) == firstCert);
    checkStoredKeyMatches(domain);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "renewal: with reused authorizations (as Let's Encrypt does) a short-lived certificate renews "
    "on its own at renew_at, with nothing to publish") {
    Leftovers leftovers;
    TestDomain domain = verifiedDomain("renew-reuse", leftovers);
    // The first order goes to the reusing CA too: the scheduler places it there itself.
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id = " + quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    // 40-second certificates. The CA offers renewalInfo (RFC 9773), whose window wins over
    // RENEW_BEFORE: Pebble's is two thirds into the lifetime ± 24 h, cut to the certificate's
    // dates, so the whole 40 s, and the scheduler renews at a random moment of it. RENEW_BEFORE
    // (about 10 s after issue) applies only if renewalInfo does not answer.
    const auto scheduler = startScheduler(
        Env{{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_REUSE")}, {"RENEW_BEFORE", "0.75"}});
    Watch issuing;
    std::string value;
    REQUIRE(issuing.until(domain, 15s, [&](const HttpResult& view) {
        value = view.jsonString("expected_txt_value");
        return !value.empty();
    }));
    publish(domain, value);
    requireAllActive({domain}, 20s);
    const std::string firstCert = newestCertificateId(domain);
    CHECK(count("SELECT count(*) FROM certificates WHERE id = " + quoted(firstCert) +
                " AND expires_at - issued_at <= interval '41 seconds'") == 1);

    // Nobody touches renew_at: the scheduler finds the certificate due by itself, within its
    // lifetime.
    Watch watch;
    std::set<std::string> renewalStatuses;
    REQUIRE_MESSAGE(watch.until(domain, 50s,
                                [&](const HttpResult& view) {
                                    renewalStatuses.insert(renewalOf(view).status);
                                    return certificateCount(domain) >= 2;
                                }),
                    watch.last.body);
    CHECK(watch.statuses == std::set<std::string>{"active"});
    CHECK_FALSE(watch.sawEmptyValue);
    CHECK(renewalStatuses.count("awaiting_dns") == 0);
    // The renewal order needed no challenge: the CA held the authorization as valid.
    const std::string renewalOrder = scalar(
        "SELECT id FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id) +
        " ORDER BY created_at LIMIT 1");
    REQUIRE_FALSE(renewalOrder.empty());
    CHECK(scalar("SELECT status FROM acme_orders WHERE id = " + quoted(renewalOrder)) == "valid");
    CHECK(count("SELECT count(*) FROM acme_challenges WHERE order_id = " + quoted(renewalOrder)) ==
          0);
    CHECK(scheduler->terminate() == 0);
    checkStoredKeyMatches(domain);
}

TEST_CASE(
    "renewal: a failing renewal keeps the current certificate, says why, and is retried with "
    "backoff until it succeeds") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-fail", leftovers);
    const std::string firstCert = newestCertificateId(domain);
    makeDue(domain);
    {
        // A CA nobody listens on: every renewal order fails at POLL_TIMEOUT.
        const auto failing = startScheduler(Env{{"ACME_DIRECTORY", "https://127.0.0.1:9/dir"},
                                                {"POLL_INTERVAL", "100ms"},
                                                {"POLL_TIMEOUT", "500ms"}});
        Watch watch;
        Renewal failed;
        REQUIRE_MESSAGE(watch.until(domain, 15s,
                                    [&](const HttpResult& view) {
                                        failed = renewalOf(view);
                                        return failed.status == "failed";
                                    }),
                        watch.last.body);
        CHECK(failed.errorCode == "ca_unreachable");
        CHECK(failed.error.find("unreachable") != std::string::npos);
        CHECK(watch.last.jsonString("status") == "active");
        CHECK_FALSE(watch.last.json()->has("error"));  // the domain itself has not failed
        CHECK(get("/domains/" + domain.id + "/certificate").jsonString("id") == firstCert);
        // Retried: a second renewal order fails too, later than the first (backoff).
        REQUIRE(waitFor(15s, [&] {
            return count("SELECT renewal_failures FROM certificates WHERE id = " +
                         quoted(firstCert)) >= 2;
        }));
        CHECK(watch.statuses == std::set<std::string>{"active"});
        CHECK(failing->terminate() == 0);
    }
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND status = 'invalid' "
                "AND domain_id = " +
                quoted(domain.id)) >= 2);
    CHECK(certificateCount(domain) == 1);
    // The next try is scheduled (the certificate has years left), not abandoned.
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at IS NOT NULL AND id = " +
                quoted(firstCert)) == 1);

    // With the CA back, the scheduled retry renews it.
    makeDue(domain);
    const auto scheduler = startScheduler();
    Watch watch;
    publishRenewalValues(domain, watch.awaitingDns(domain, 15s));
    REQUIRE(
        watch.until(domain, 20s, [&](const HttpResult&) { return certificateCount(domain) == 2; }));
    CHECK(watch.statuses == std::set<std::string>{"active"});
    CHECK(newestCertificateId(domain) != firstCert);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("renewal: kill -9 of the scheduler mid-renewal ends with exactly one new certificate") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-kill", leftovers);
    const std::string firstCert = newestCertificateId(domain);
    makeDue(domain);
    const Env env{{"SCHEDULER_LEASE", "2s"}, {"POLL_INTERVAL", "100ms"}};
    const std::string quotedId = quoted(domain.id);
    // The renewal's last step ends in one transaction: held there by refusing its certificate
    // insert (as a database error would; claims_test does the same), so the kill always lands
    // after the key is saved (finalize, StepContext::certificateKey) and before it is stored.
    const std::string trigger = "renew_kill_" + domain.id.substr(0, 8);
    execute("CREATE FUNCTION " + trigger +
            "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.domain_id = " + quotedId +
            " THEN RAISE EXCEPTION 'held by test'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER " +
            trigger + " BEFORE INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION " + trigger +
            "()");
    std::string keyAtKill;
    {
        const auto first = startScheduler(env);
        Watch watch;
        INFO("scheduler: " << describe(*first));
        publishRenewalValues(domain, watch.awaitingDns(domain, 15s));
        // Killed once the key is persisted: mid-flight at the CA, the key the CA may have our
        // CSR for. Polled every 1 ms: three refused inserts (POLL_INTERVAL apart, doubling)
        // would fail the order a few hundred ms later.
        const bool keySaved = waitFor(
            15s,
            [&] {
                return count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND "
                             "cert_key_ciphertext IS NOT NULL AND domain_id = " +
                             quotedId) == 1;
            },
            1ms);
        first->kill9();
        execute("DROP TRIGGER " + trigger + " ON certificates; DROP FUNCTION " + trigger + "()");
        REQUIRE_MESSAGE(keySaved, "the renewal order's key was never saved");
        keyAtKill = scalar(
            "SELECT coalesce(cert_key_ciphertext, '') FROM acme_orders WHERE "
            "kind = 'renewal' AND domain_id = " +
            quotedId);
    }
    REQUIRE_FALSE(keyAtKill.empty());
    CHECK(certificateCount(domain) == 1);  // nothing stored before the kill
    const auto second = startScheduler(env);
    REQUIRE(waitFor(20s, [&] { return certificateCount(domain) == 2; }));
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND domain_id = " +
                quoted(domain.id)) == 1);
    CHECK(scalar("SELECT status FROM acme_orders WHERE kind = 'renewal' AND domain_id = " +
                 quoted(domain.id)) == "valid");
    // The key saved before the crash is the one the certificate was issued for.
    CHECK(scalar("SELECT private_key_ciphertext FROM certificates WHERE id = " +
                 quoted(newestCertificateId(domain))) == keyAtKill);
    // No third certificate follows: the renewed one is not due for years.
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    checkStoredKeyMatches(domain);
    CHECK(second->terminate() == 0);
    CHECK(certificateCount(domain) == 2);
}

TEST_CASE("renewal: two scheduler replicas renew a set of domains exactly once each") {
    Leftovers leftovers;
    std::vector<TestDomain> domains;
    {
        const auto scheduler = startScheduler();
        for (int i = 0; i < 6; ++i) {
            domains.push_back(verifiedDomain("renew-replicas", leftovers));
            publish(domains.back(), startIssuance(domains.back()));
        }
        requireAllActive(domains, 30s);
        CHECK(scheduler->terminate() == 0);
    }
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id IN (" + idList(domains) +
            ")");
    const auto first = startScheduler(Env{{"SCHEDULER_WORKERS", "2"}});
    const auto second = startScheduler(Env{{"SCHEDULER_WORKERS", "2"}});
    std::set<std::string> published;
    const bool renewed = waitFor(
        40s,
        [&] {
            for (const auto& domain : domains) {
                if (published.count(domain.id)) continue;
                const Renewal renewal = renewalOf(get("/domains/" + domain.id));
                if (renewal.status != "awaiting_dns") continue;
                publishRenewalValues(domain, renewal);
                published.insert(domain.id);
            }
            return count("SELECT count(*) FROM certificates WHERE domain_id IN (" +
                         idList(domains) + ")") == 12;
        },
        100ms);
    REQUIRE_MESSAGE(renewed, statusSummary(domains));
    for (const auto& domain : domains) {
        CAPTURE(domain.name);
        CHECK(certificateCount(domain) == 2);
        CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND domain_id = " +
                    quoted(domain.id)) == 1);
    }
    CHECK(first->terminate() == 0);
    CHECK(second->terminate() == 0);
}

TEST_CASE("renewal: a wildcard and its base name are issued together, both values published") {
    Leftovers leftovers;
    const auto scheduler = startScheduler();
    const std::string base = uniqueDomainName("wild");
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"*." + base + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    TestDomain domain{created.jsonString("id"), base, created.jsonString("verification_token")};
    leftovers.add(domain);
    CHECK(created.jsonString("domain_name") == "*." + base);
    CHECK(created.jsonString("challenge_domain") == "_acme-challenge." + base);

    setTxt("_acme-challenge." + base, domain.token);
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);

    const HttpResult started = issueCertificate(domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    const auto challenges = started.json()->getArray("challenges");
    REQUIRE(challenges);
    REQUIRE(challenges->size() == 2);
    std::set<std::string> values;
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(challenges->getObject(i)->getValue<std::string>("challenge_domain") ==
              "_acme-challenge." + base);
        values.insert(challenges->getObject(i)->getValue<std::string>("expected_txt_value"));
    }
    CHECK(values.size() == 2);
    for (const auto& value : values) {
        CHECK(std::regex_match(value, kTxtValue));
        CHECK(started.jsonString("instructions").find(value) != std::string::npos);
    }
    // One value alone is not enough: the scheduler waits for both.
    clearTxt("_acme-challenge." + base);
    setTxt("_acme-challenge." + base, *values.begin());
    REQUIRE(waitFor(10s, [&] {
        const auto checks = get("/domains/" + domain.id).json()->getObject("checks");
        return checks && checks->getValue<std::string>("result") == "txt_mismatch" &&
               checks->getArray("expected")->size() == 2;
    }));
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
    setTxt("_acme-challenge." + base, *values.rbegin());
    requireAllActive({domain}, 20s);

    const CommandResult sans = inspectCertificate(domain, "-ext subjectAltName");
    REQUIRE(sans.exitCode == 0);
    CHECK(sans.output.find("DNS:*." + base) != std::string::npos);
    const bool baseListed = sans.output.find("DNS:" + base + ",") != std::string::npos ||
                            sans.output.find("DNS:" + base + "\n") != std::string::npos;
    CHECK_MESSAGE(baseListed, sans.output);
    checkStoredKeyMatches(domain);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "checks: the domain view says what was last seen and where, and POST /check looks again at "
    "once") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("checks", leftovers);
    // Nothing waits for DNS yet: 409; unknown and malformed ids: 404.
    const HttpResult early = postJson("/domains/" + domain.id + "/check", "");
    CHECK(early.status == 409);
    CHECK(early.jsonString("error").find("nothing is waiting for DNS") != std::string::npos);
    CHECK(postJson("/domains/0123456789abcdef0123456789abcdef/check", "").status == 404);
    CHECK(postJson("/domains/nope/check", "").status == 404);
    CHECK(get("/domains/" + domain.id + "/check").status == 405);

    const std::string value = startIssuance(domain);
    // A slow poll: only POST /check can make the next lookup come early.
    const auto scheduler = startScheduler(Env{{"POLL_INTERVAL", "30s"}});
    SandboxRecords dns;
    auto checksOf = [&]() -> Poco::JSON::Object::Ptr {
        return get("/domains/" + domain.id).json()->getObject("checks");
    };
    // The first lookup sees the verification token, not the value: txt_mismatch, with what it saw.
    REQUIRE(waitFor(10s, [&] {
        const auto checks = checksOf();
        return checks && checks->getValue<std::string>("result") == "txt_mismatch";
    }));
    auto checks = checksOf();
    CHECK(checks->getValue<std::string>("name") == domain.challengeName());
    CHECK(checks->getArray("expected")->getElement<std::string>(0) == value);
    CHECK(checks->getArray("seen")->size() == 1);
    // The verification token still published: shown as verify shows it, never itself.
    CHECK(checks->getArray("seen")->getElement<std::string>(0) == kTokenShown);
    checkTokenNotShown(domain);
    CHECK(std::regex_match(checks->getValue<std::string>("checked_at"), kRfc3339Utc));
    CHECK(std::regex_match(checks->getValue<std::string>("next_check_at"), kRfc3339Utc));

    // SERVFAIL at the name: said so, after POST /check made the lookup run now.
    dns.servfail(domain.challengeName());
    const HttpResult accepted = postJson("/domains/" + domain.id + "/check", "");
    CHECK(accepted.status == 202);
    CHECK(accepted.jsonString("id") == domain.id);
    REQUIRE(waitFor(10s, [&] {
        const auto now = checksOf();
        return now && now->getValue<std::string>("result") == "dns_servfail";
    }));
    clearServfail(domain.challengeName());

    publish(domain, value);
    // One lookup brought forward per POLL_INTERVAL (the stack's handlers: 10 s): the second
    // check waits out the Retry-After the first one left (tests/e2e/check_now_test.cpp).
    HttpResult again = postJson("/domains/" + domain.id + "/check", "");
    if (again.status == 429) {
        const int wait = std::stoi(again.header("retry-after"));
        CHECK(wait >= 1);
        CHECK(wait <= 10);
        std::this_thread::sleep_for(std::chrono::seconds(wait));
        again = postJson("/domains/" + domain.id + "/check", "");
    }
    CHECK(again.status == 202);
    // Active long before the 30 s poll would have looked again.
    REQUIRE(waitFor(10s, [&] {
        return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active";
    }));
    CHECK(checksOf()->getValue<std::string>("result") == "found");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "crash window: a challenge answered before the step was saved moves the order on when the "
    "scheduler resumes") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("crash-window", leftovers);
    publish(domain, startIssuance(domain));
    const std::string order =
        scalar("SELECT id FROM acme_orders WHERE domain_id = " + quoted(domain.id));
    {
        // One step: the lookup sees the value and the challenge is answered.
        const auto scheduler = startScheduler(Env{{"POLL_INTERVAL", "10s"}});
        // Killed while the answered order waits for the CA (the next poll is 250 ms away).
        REQUIRE(waitFor(
            10s,
            [&] {
                return scalar("SELECT step FROM acme_orders WHERE id = " + quoted(order)) ==
                       "await_authz";
            },
            5ms));
        scheduler->kill9();
    }
    // As if the process had died between answering and saving the step.
    execute(
        "UPDATE acme_orders SET step = 'await_dns', lease_owner = NULL, "
        "lease_expires_at = NULL, next_attempt_at = now() WHERE id = " +
        quoted(order));
    const auto scheduler = startScheduler();
    requireAllActive({domain}, 20s);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("renewal: the CA's first error after a long wait for the customer's DNS is retried, not "
          "taken for the CA's timeout") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-late", leftovers);
    const std::string firstCert = newestCertificateId(domain);
    makeDue(domain);
    const std::string liveRenewal = "domain_id = " + quoted(domain.id) +
                                    " AND kind = 'renewal' AND status = 'pending'";
    Watch watch;
    Renewal renewal;
    {
        // The renewal waits for its customer past POLL_TIMEOUT (days, in production).
        const auto waiting =
            startScheduler(Env{{"POLL_INTERVAL", "100ms"}, {"POLL_TIMEOUT", "1s"}});
        renewal = watch.awaitingDns(domain, 20s);
        REQUIRE(waitFor(10s, [&] {
            return count("SELECT count(*) FROM acme_orders WHERE " + liveRenewal +
                         " AND step = 'await_dns' AND step_started_at < now() - "
                         "interval '2 s'") == 1;
        }));
        CHECK(waiting->terminate() == 0);
    }
    publishRenewalValues(domain, renewal);
    execute("UPDATE acme_orders SET next_attempt_at = now() WHERE " + liveRenewal);
    {
        // The customer published; the CA's first answer is an error (nobody listens there).
        const auto failing = startScheduler(Env{{"ACME_DIRECTORY", "https://127.0.0.1:9/dir"},
                                                {"POLL_INTERVAL", "100ms"},
                                                {"POLL_TIMEOUT", "1s"}});
        REQUIRE_MESSAGE(waitFor(10s,
                                [&] {
                                    return count("SELECT count(*) FROM acme_orders WHERE "
                                                 "domain_id = " +
                                                 quoted(domain.id) +
                                                 " AND kind = 'renewal' AND attempts > 0") >= 1;
                                }),
                        describe(*failing));
        CHECK(failing->terminate() == 0);
    }
    // Retried later, not failed: the order is still live and the view does not say failed.
    CHECK(count("SELECT count(*) FROM acme_orders WHERE " + liveRenewal) == 1);
    CHECK(renewalOf(get("/domains/" + domain.id)).status != "failed");
    // And once the CA answers, it completes.
    execute("UPDATE acme_orders SET next_attempt_at = now() WHERE " + liveRenewal);
    const auto working = startScheduler(Env{{"POLL_INTERVAL", "100ms"}, {"POLL_TIMEOUT", "1s"}});
    REQUIRE_MESSAGE(waitFor(20s, [&] { return newestCertificateId(domain) != firstCert; }),
                    get("/domains/" + domain.id).body);
    CHECK(watch.statuses == std::set<std::string>{"active"});
}

TEST_CASE("renewal: a DNS lookup that times out while the renewal waits for its customer past "
          "POLL_TIMEOUT is looked at again, the same values asked, and the renewal completes") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-dns-timeout", leftovers);
    makeDue(domain);
    const Env fast{{"POLL_INTERVAL", "100ms"}, {"POLL_TIMEOUT", "1s"}};
    Watch watch;
    Renewal awaiting;
    std::string order;
    {
        // The renewal waits for its customer past POLL_TIMEOUT (days, in production).
        const auto waiting = startScheduler(fast);
        awaiting = watch.awaitingDns(domain, 20s);
        REQUIRE(waitFor(10s, [&] {
            order = scalar("SELECT id FROM acme_orders WHERE domain_id = " + quoted(domain.id) +
                           " AND kind = 'renewal' AND status = 'pending' AND step = 'await_dns' "
                           "AND step_started_at < now() - interval '2 s'");
            return !order.empty();
        }));
        CHECK(waiting->terminate() == 0);
    }
    REQUIRE(awaiting.challenges.size() == 1);
    {
        // One authoritative check times out: the resolver that finds the zone's nameservers is
        // silent here, as a nameserver that lost the one UDP packet would be.
        const std::string silentAddress =
            splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES")).front();
        FakeNameservers silent({silentAddress});
        Env timingOut = fast;
        timingOut.insert({{"DNS_PRECHECK", "authoritative"},
                          {"DNS_RESOLVER", silentAddress + ":53"},
                          {"DNS_TIMEOUT", "1s"}});
        execute("UPDATE acme_orders SET next_attempt_at = now() WHERE id = " + quoted(order));
        const auto scheduler = startScheduler(timingOut);
        REQUIRE_MESSAGE(waitFor(15s,
                                [&] {
                                    const auto checks =
                                        get("/domains/" + domain.id).json()->getObject("checks");
                                    return silent.queries() > 0 && checks &&
                                           checks->getValue<std::string>("result") ==
                                               "dns_timeout";
                                }),
                        describe(*scheduler));
        CHECK(scheduler->terminate() == 0);
    }
    // Still the same order, waiting, no attempt counted (so the CA's part gets its own
    // POLL_TIMEOUT once the values are seen), and the customer is asked for the same value.
    CHECK(scalar("SELECT status || ':' || step || ':' || attempts FROM acme_orders WHERE id = " +
                 quoted(order)) == "pending:await_dns:0");
    const Renewal still = renewalOf(get("/domains/" + domain.id));
    CHECK(still.status == "awaiting_dns");
    REQUIRE(still.challenges.size() == 1);
    CHECK(still.challenges[0].second == awaiting.challenges[0].second);

    // Published: that order completes, the only renewal order.
    publishRenewalValues(domain, awaiting);
    execute("UPDATE acme_orders SET next_attempt_at = now() WHERE id = " + quoted(order));
    const auto scheduler = startScheduler(fast);
    REQUIRE_MESSAGE(
        watch.until(domain, 20s, [&](const HttpResult&) { return certificateCount(domain) == 2; }),
        watch.last.body);
    CHECK(scalar("SELECT string_agg(id || ':' || status, ',') FROM acme_orders WHERE kind = "
                 "'renewal' AND domain_id = " +
                 quoted(domain.id)) == order + ":valid");
    CHECK(watch.statuses == std::set<std::string>{"active"});
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("renewal: a dead first DNS_RESOLVER before the order is placed: no lease is lost, the "
          "CAA walk succeeds and the order is placed") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-slow-place", leftovers);
    // The first resolver never answers: the first question waits DNS_TIMEOUT there, then gets
    // the sandbox's answer, and the next ones start at the sandbox (dns/resolver.cpp). Before,
    // every question waited at the silent one, the walk outlasted the lease, and (until the
    // lease was extended before each lookup) the extension failed ("lease lost"), no attempt
    // counted, and the order, still due, was claimed again at once, for ever. A lookup fits the
    // lease: 2 servers x 2 waits x 500 ms (a DNS_TIMEOUT that did not fit would stop the
    // scheduler at start).
    const std::string silentAddress =
        splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES")).front();
    FakeNameservers silent({silentAddress});
    execute("UPDATE domains SET caa_check = NULL WHERE id = " + quoted(domain.id));
    makeDue(domain);
    const auto scheduler =
        startScheduler(Env{{"DNS_RESOLVER", silentAddress + ":53," + dnsResolver()},
                           {"DNS_TIMEOUT", "500ms"},
                           {"SCHEDULER_LEASE", "3s"},
                           {"POLL_INTERVAL", "100ms"}});
    const std::string renewal =
        "FROM acme_orders WHERE kind = 'renewal' AND domain_id = " + quoted(domain.id);
    // Placed: the order moved on (await_dns, or further).
    const bool placed = waitFor(30s, [&] {
        return count("SELECT count(*) " + renewal + " AND step <> 'place_order'") >= 1;
    });
    CHECK_MESSAGE(placed, statusSummary({domain}) << "\n" << describe(*scheduler));
    CHECK(silent.queries() > 0);
    CHECK(scheduler->log().find("\"lease lost\"") == std::string::npos);
    // The walk's own check, recorded by the step that placed the order.
    CHECK(scalar("SELECT caa_check::json->>'result' FROM domains WHERE id = " +
                 quoted(domain.id)) == "allowed");
    // The customer keeps the current certificate meanwhile.
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("renewal: a certificate that expired while its renewal kept failing is still retried, "
          "and the view and /metrics say it expired") {
    Leftovers leftovers;
    const TestDomain domain = activeDomainNoScheduler("renew-expired", leftovers);
    const std::string cert = newestCertificateId(domain);
    // Its notAfter passed while renewal was failing (the row moved instead of the clock).
    execute("UPDATE certificates SET issued_at = now() - interval '1 day', "
            "expires_at = now() - interval '1 minute', renew_at = now() WHERE id = " +
            quoted(cert));
    {
        const auto failing = startScheduler(Env{{"ACME_DIRECTORY", "https://127.0.0.1:9/dir"},
                                                {"POLL_INTERVAL", "100ms"},
                                                {"POLL_TIMEOUT", "500ms"}});
        REQUIRE(waitFor(15s, [&] {
            return count("SELECT renewal_failures FROM certificates WHERE id = " +
                         quoted(cert)) >= 1;
        }));
        CHECK(failing->terminate() == 0);
    }
    // Tried again, more slowly than before it expired: never left with nothing trying.
    CHECK(count("SELECT count(*) FROM certificates WHERE id = " + quoted(cert) +
                " AND renew_at > now() + interval '25 minutes'") == 1);
    const HttpResult view = get("/domains/" + domain.id);
    const Renewal renewal = renewalOf(view);
    INFO(view.body);
    CHECK(view.jsonString("status") == "active");
    CHECK(renewal.status == "expired");
    CHECK(renewal.errorCode == "ca_unreachable");
    CHECK_FALSE(renewal.renewAt.empty());
    const std::string metrics = get("/metrics").body;
    const auto at = metrics.find("\ndnsh_certificates_expired ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(metrics.substr(at + 27)) >= 1);

    // When that retry comes and the CA answers, the customer's values renew it.
    makeDue(domain);
    const auto scheduler = startScheduler();
    Watch watch;
    publishRenewalValues(domain, watch.awaitingDns(domain, 15s));
    REQUIRE(
        watch.until(domain, 20s, [&](const HttpResult&) { return certificateCount(domain) == 2; }));
    CHECK(renewalOf(get("/domains/" + domain.id)).status == "scheduled");
    CHECK(scheduler->terminate() == 0);
}
