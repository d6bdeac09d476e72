// ACME Renewal Information end to end (RFC 9773; README "ACME Renewal Information"): the CA
// pulling renewal windows forward through Pebble's management API (POST /set-renewal-info/),
// dnsh-admin ari-refresh, ARI_MAX_WAIT, and a renewal the CA refuses as alreadyReplaced.
// dns-scheduler children against the test stack's Pebbles (v2.10.3, -strict), through lighttpd.
// Every case stops its schedulers (RAII) and leaves nothing live.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "acme/ari.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

#include "delegation_helpers.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

namespace {

std::string currentCertificateId(const TestDomain& domain) {
    return scalar("SELECT id FROM certificates WHERE superseded_at IS NULL AND domain_id = " +
                  quoted(domain.id));
}

std::string certificatePem(const std::string& certificateId) {
    return scalar("SELECT certificate_pem FROM certificates WHERE id = " + quoted(certificateId));
}

long long certificateCount(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

// The renewal that replaced `oldCertificate` is done: a valid renewal order naming it, and the
// domain's current certificate is that order's.
bool renewedFrom(const TestDomain& domain, const std::string& oldCertificate) {
    return count("SELECT count(*) FROM acme_orders o JOIN certificates c ON c.order_id = o.id "
                 "AND c.superseded_at IS NULL WHERE o.kind = 'renewal' AND o.status = 'valid' "
                 "AND o.domain_id = " +
                 quoted(domain.id) + " AND o.replaces_certificate_id = " +
                 quoted(oldCertificate)) == 1;
}

// Pebble answers, for the certificate, a window that ended just now: RFC 9773 §4.2 "renew now"
// (what a CA announces before a mass revocation; Pebble's own for a revoked certificate is
// [now - 1h, now - 1h + 1s]).
void pullWindowToNow(const std::string& managementUrl, const std::string& certificateId) {
    const auto now = std::chrono::system_clock::now();
    setPebbleRenewalInfo(managementUrl, certificatePem(certificateId),
                         renewalInfoBody(now - 1min, now));
}

// dnsh-admin with the test environment plus `env` (the CA the domains' certificates came from).
CommandResult admin(const std::string& arguments, const Env& env) {
    std::string command;
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    return runCommand(command + requireEnv("DNSH_ADMIN_BIN") + " " + arguments);
}

// Registered with its CNAME, verified, issued against the delegated CA; not waited for.
Delegated delegatedIssuing(const std::string& prefix, Leftovers& leftovers, SandboxRecords& dns) {
    Delegated delegated = delegatedDomain(prefix, leftovers, dns);
    const HttpResult started = issueThroughUnboundCa(delegated.domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    return delegated;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t found = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++found;
    return found;
}

}  // namespace

TEST_CASE(
    "ari: a renewal refused as alreadyReplaced (RFC 9773 §5) is ordered again without replaces, "
    "once, and completes") {
    Leftovers leftovers;
    const auto scheduler = startScheduler();
    TestDomain domain = verifiedDomain("ari-replaced", leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 20s);
    const std::string first = currentCertificateId(domain);

    // A first renewal with replaces = first: once it is finalized, Pebble holds `first` as
    // replaced.
    execute("UPDATE certificates SET renew_at = now() WHERE id = " + quoted(first));
    std::string value;
    REQUIRE(waitFor(15s, [&] {
        value = scalar("SELECT coalesce(max(c.txt_value), '') FROM acme_challenges c JOIN "
                       "acme_orders o ON o.id = c.order_id WHERE o.kind = 'renewal' AND "
                       "o.status = 'pending' AND o.domain_id = " +
                       quoted(domain.id));
        return !value.empty();
    }));
    publish(domain, value);
    REQUIRE_MESSAGE(waitFor(20s, [&] { return renewedFrom(domain, first); }),
                    describe(*scheduler));
    const std::string second = currentCertificateId(domain);

    // A second renewal of `first` (as after a database restored to before the first one): the
    // CA refuses `replaces` = first with alreadyReplaced.
    execute("INSERT INTO acme_orders (id, domain_id, kind, step, replaces_certificate_id, "
            "next_attempt_at) VALUES (replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'renewal', 'place_order', " + quoted(first) + ", now())");
    std::string order;
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                order = scalar(
                                    "SELECT coalesce(max(o.id), '') FROM acme_orders o JOIN "
                                    "acme_challenges c ON c.order_id = o.id WHERE o.status = "
                                    "'pending' AND o.replaces_certificate_id = " +
                                    quoted(first) + " AND o.domain_id = " + quoted(domain.id));
                                return !order.empty();
                            }),
                    scalar("SELECT string_agg(kind || ':' || status || ':' || "
                           "coalesce(error_code, '') || ':' || coalesce(error, ''), ' | ') FROM "
                           "acme_orders WHERE domain_id = " +
                           quoted(domain.id)));
    publish(domain, scalar("SELECT txt_value FROM acme_challenges WHERE order_id = " +
                           quoted(order)));
    REQUIRE_MESSAGE(waitFor(20s,
                            [&] {
                                return scalar("SELECT status FROM acme_orders WHERE id = " +
                                              quoted(order)) == "valid";
                            }),
                    describe(*scheduler));
    CHECK(certificateCount(domain) == 3);
    CHECK(currentCertificateId(domain) != second);
    CHECK(scalar("SELECT order_id FROM certificates WHERE id = " +
                 quoted(currentCertificateId(domain))) == order);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "active");
    // Once refused, once placed without replaces: logged, not looped.
    const std::string log = scheduler->log();
    CHECK(occurrences(log, "already replaced; ordering without replaces") == 1);
    CHECK(log.find(dnsh::acme::ariCertId(certificatePem(first))) != std::string::npos);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "ari: with ARI_MAX_WAIT the scheduler asks renewalInfo again within it, whatever the CA's "
    "Retry-After, and a window pulled to now renews the certificate with replaces") {
    Leftovers leftovers;
    SandboxRecords dns;
    const auto scheduler = startScheduler(delegationScheduler({{"ARI_MAX_WAIT", "2s"}}));
    const Delegated delegated = delegatedIssuing("ari-wait", leftovers, dns);
    requireAllActive({delegated.domain}, 30s);
    const std::string first = currentCertificateId(delegated.domain);
    // Pebble said Retry-After: 6 h; the next fetch is ARI_MAX_WAIT away.
    CHECK(count("SELECT count(*) FROM certificates WHERE ari_next_fetch_at <= now() + interval "
                "'3 seconds' AND id = " +
                quoted(first)) == 1);

    pullWindowToNow(requireEnv("PEBBLE_MANAGEMENT_UNBOUND"), first);
    REQUIRE_MESSAGE(waitFor(40s, [&] { return renewedFrom(delegated.domain, first); }),
                    describe(*scheduler));
    CHECK(scheduler->log().find("\"replaces\":\"" + dnsh::acme::ariCertId(certificatePem(first))) !=
          std::string::npos);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("ari: dnsh-admin ari-refresh refuses an unknown or malformed domain id, and a usage") {
    const Env env{{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")}};
    const CommandResult unknown = admin("ari-refresh 0123456789abcdef0123456789abcdef", env);
    CHECK(unknown.exitCode == 65);
    CHECK(unknown.output.find("not found") != std::string::npos);
    const CommandResult malformed = admin("ari-refresh ../etc", env);
    CHECK(malformed.exitCode == 65);
    CHECK(malformed.output.find("not found") != std::string::npos);
    CHECK(admin("ari-refresh", env).exitCode == 64);
    CHECK(admin("ari-refresh 0123456789abcdef0123456789abcdef --all", env).exitCode == 64);
}

TEST_CASE(
    "ari: mass-revocation drill: the CA pulls every window to now, dnsh-admin ari-refresh asks "
    "again, every certificate renews with replaces and no customer action, and a new domain "
    "still becomes active promptly") {
    constexpr int kCertificates = 12;
    Leftovers leftovers;
    SandboxRecords dns;
    const auto scheduler = startScheduler(delegationScheduler());
    std::vector<TestDomain> domains;
    for (int i = 0; i < kCertificates; ++i)
        domains.push_back(delegatedIssuing("ari-drill", leftovers, dns).domain);
    requireAllActive(domains, 90s);
    std::vector<std::string> before;
    for (const auto& domain : domains) before.push_back(currentCertificateId(domain));
    // Pebble's own window is two thirds into 90 days: nothing would renew for weeks, and the
    // next renewalInfo fetch is 6 hours away (its Retry-After).
    CHECK(count("SELECT count(*) FROM certificates WHERE superseded_at IS NULL AND renew_at > "
                "now() + interval '1 day' AND domain_id IN (" +
                idList(domains) + ")") == kCertificates);

    const std::string management = requireEnv("PEBBLE_MANAGEMENT_UNBOUND");
    for (const auto& certificate : before) pullWindowToNow(management, certificate);
    const Env env{{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")}};

    // One domain by id: the operator's view of it.
    const CommandResult one = admin("ari-refresh " + domains[0].id, env);
    CHECK_MESSAGE(one.exitCode == 0, one.output);
    CHECK(one.output.find(domains[0].name + " (" + domains[0].id + "): renewal due now") !=
          std::string::npos);

    // A customer issuing during the drill.
    const auto newcomerStarted = Clock::now();
    const Delegated newcomer = delegatedIssuing("ari-newcomer", leftovers, dns);

    const CommandResult all = admin("ari-refresh --all", env);
    CHECK_MESSAGE(all.exitCode == 0, all.output);
    // Every other drill domain due now (the first may be renewing, or renewed, already).
    for (std::size_t i = 1; i < domains.size(); ++i)
        CHECK_MESSAGE(all.output.find(domains[i].name + " (" + domains[i].id +
                                      "): renewal due now") != std::string::npos,
                      all.output);

    // For scripts: the same as JSON (the outcome depends on how far its renewal got by now).
    Env quiet = env;
    quiet["LOG_LEVEL"] = "error";  // stdout alone: runCommand also reads stderr
    const CommandResult json = admin("ari-refresh " + domains[1].id + " --json", quiet);
    CHECK_MESSAGE(json.exitCode == 0, json.output);
    const auto items = Poco::JSON::Parser().parse(json.output).extract<Poco::JSON::Array::Ptr>();
    REQUIRE(items->size() == 1);
    CHECK(items->getObject(0)->getValue<std::string>("domain_id") == domains[1].id);
    CHECK(items->getObject(0)->getValue<std::string>("domain_name") == domains[1].name);

    requireAllActive({newcomer.domain}, 45s);
    const double newcomerSeconds =
        std::chrono::duration<double>(Clock::now() - newcomerStarted).count();
    MESSAGE("new domain active " << newcomerSeconds << " s after its registration, mid-drill");

    const auto drillStarted = Clock::now();
    REQUIRE_MESSAGE(waitFor(120s,
                            [&] {
                                for (std::size_t i = 0; i < domains.size(); ++i)
                                    if (!renewedFrom(domains[i], before[i])) return false;
                                return true;
                            }),
                    scalar("SELECT string_agg(o.kind || ':' || o.status || ':' || "
                           "coalesce(o.error_code, ''), ' | ') FROM acme_orders o WHERE "
                           "o.kind = 'renewal' AND o.domain_id IN (" +
                           idList(domains) + ")")
                        << "\n"
                        << describe(*scheduler));
    MESSAGE("all " << kCertificates << " renewed "
                   << std::chrono::duration<double>(Clock::now() - drillStarted).count()
                   << " s after the newcomer was active");
    // Each with replaces = the ARI CertID of the certificate it replaced (RFC 9773 §5), one
    // renewal order each, every domain still active and nothing published by the customer.
    const std::string log = scheduler->log();
    for (std::size_t i = 0; i < domains.size(); ++i) {
        CAPTURE(domains[i].name);
        CHECK(log.find("\"replaces\":\"" + dnsh::acme::ariCertId(certificatePem(before[i]))) !=
              std::string::npos);
        CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND domain_id = " +
                    quoted(domains[i].id)) == 1);
    }
    CHECK(count("SELECT count(*) FROM domains WHERE status = 'active' AND id IN (" +
                idList(domains) + ")") == kCertificates);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND delegated AND "
                "domain_id IN (" +
                idList(domains) + ")") == kCertificates);
    CHECK(scheduler->terminate() == 0);
}
