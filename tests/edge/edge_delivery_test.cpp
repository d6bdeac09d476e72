// The edge agent, dnsh-edge-sync, against Debian's HAProxy and nginx on loopback (README,
// "Certificates on the TLS terminators"): what a client's handshake gets after issuance, renewal
// and delete, with no reload; batches; files, modes and the manifest.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "edge/edge_support.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

mode_t modeOf(const std::string& path) {
    struct stat info {};
    ::stat(path.c_str(), &info);
    return info.st_mode & 0777;
}

// A running host: the agent's first pass, then HAProxy and nginx reading what it wrote, then the
// agent following.
void startHost(TlsHost& host, bool nginx = true) {
    const CommandResult first = host.syncOnce();
    // 1: some certificate not applied. The stack's database (the issuance case) holds other
    // tests' placeholder certificates; what this case serves is checked by handshakes.
    REQUIRE_MESSAGE((first.exitCode == 0 || first.exitCode == 1), first.output);
    host.startHaproxy();
    if (nginx) host.startNginx();
    host.startAgent();
}

}  // namespace

TEST_CASE(
    "edge: an issued certificate reaches HAProxy and nginx, a renewal replaces it with no "
    "reload, a delete takes it away") {
    Leftovers leftovers;
    TlsHost host;
    startHost(host);
    TempDir roots;
    const std::string root = roots.write("pebble-root.pem", pebbleRootPem());
    const auto scheduler = startScheduler();

    // Issued through the API, as a customer's domain is.
    TestDomain domain = verifiedDomain("edge", leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 30s);
    const std::string first = newestSerial(domain.id);
    const ServedCertificate byHaproxy = waitServed(host.haproxyPort(), domain.name, first);
    INFO("agent: " << describe(*host.agent()));
    CHECK_MESSAGE(byHaproxy.serial == first, byHaproxy.output);
    const ServedCertificate byNginx = waitServed(host.nginxPort(), domain.name, first, 5s);
    CHECK_MESSAGE(byNginx.serial == first, byNginx.output);
    // The whole chain is served: a client trusting only Pebble's root verifies it for the name.
    CHECK_MESSAGE(servedCertificate(host.haproxyPort(), domain.name, root).verified,
                  servedCertificate(host.haproxyPort(), domain.name, root).output);
    CHECK(servedCertificate(host.nginxPort(), domain.name, root).verified);

    // Renewal: the new certificate is served by the same processes.
    const int haproxyPid = host.haproxyPid();
    const int nginxWorker = host.nginxWorkerPid();
    REQUIRE(nginxWorker > 0);
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " +
            dnsh::test::quoted(domain.id) + " AND superseded_at IS NULL");
    std::string renewalValue;
    REQUIRE(waitFor(30s, [&] {
        const HttpResult view = get("/domains/" + domain.id);
        const auto renewal = view.json()->getObject("renewal");
        if (!renewal || renewal->optValue<std::string>("status", "") != "awaiting_dns")
            return false;
        renewalValue = renewal->getArray("challenges")
                           ->getObject(0)
                           ->getValue<std::string>("expected_txt_value");
        return true;
    }));
    publish(domain, renewalValue);
    REQUIRE(waitFor(30s, [&] { return newestSerial(domain.id) != first; }));
    const std::string renewed = newestSerial(domain.id);
    CHECK(waitServed(host.haproxyPort(), domain.name, renewed).serial == renewed);
    CHECK(waitServed(host.nginxPort(), domain.name, renewed, 5s).serial == renewed);
    CHECK(host.haproxyPid() == haproxyPid);
    CHECK(host.nginxWorkerPid() == nginxWorker);  // a reload would have replaced the worker
    CHECK(host.nginxLog().find("reconfiguring") == std::string::npos);

    // Delete: HAProxy answers with its default certificate, the file is gone.
    REQUIRE(send(baseUrl(), {"DELETE", "/domains/" + domain.id, "", "", {}}).status == 204);
    const std::string file = host.edgeDir() + "/" + domain.name + ".pem";
    CHECK(waitFor(15s, [&] { return !fs::exists(file); }));
    CHECK(waitFor(5s, [&] {
        return servedCertificate(host.haproxyPort(), domain.name)
                   .subject.find("edge-default.invalid") != std::string::npos;
    }));
    CHECK(host.haproxyPid() == haproxyPid);
}

TEST_CASE("edge: a wildcard's certificate is served for a name below it and for its apex") {
    EdgeDomains domains;
    const std::string apex = uniqueDomainName("wild");
    const std::string id = domains.add(std::string("*.").append(apex));
    const StoredCertificate wildcard = domains.storeCertificate(id, std::string("*.").append(apex));
    TlsHost host(domains.url());
    startHost(host);  // nginx reads the wildcard map the first pass wrote
    CHECK(fs::exists(host.edgeDir() + "/_wildcard." + apex + ".pem"));
    for (const std::string& name : {std::string("a.").append(apex), apex}) {
        CAPTURE(name);
        CHECK(waitServed(host.haproxyPort(), name, wildcard.serial).serial == wildcard.serial);
        const ServedCertificate byNginx = servedCertificate(host.nginxPort(), name);
        CHECK_MESSAGE(byNginx.serial == wildcard.serial, byNginx.output);
    }
    // nginx: a name that is no host name never becomes a path.
    CHECK_FALSE(servedCertificate(host.nginxPort(), std::string("../../").append(apex)).handshake);
}

TEST_CASE(
    "edge: a name below a wildcard with a certificate of its own gets its own from nginx too, at "
    "any depth") {
    // nginx's `hostnames` map sends every name below "*.S" (api.eu.S too) to the wildcard's file
    // unless the name has an exact entry of its own.
    EdgeDomains domains;
    const std::string apex = uniqueDomainName("wild-own");
    const std::string wildcardName = std::string("*.").append(apex);
    const StoredCertificate wildcard =
        domains.storeCertificate(domains.add(wildcardName), wildcardName);
    const std::string own = std::string("own.").append(apex);
    const std::string deep = std::string("deep.sub.").append(apex);
    const StoredCertificate ownCertificate = domains.storeCertificate(domains.add(own), own);
    const StoredCertificate deepCertificate = domains.storeCertificate(domains.add(deep), deep);
    TlsHost host(domains.url());
    startHost(host);  // nginx reads the wildcard map the first pass wrote
    const std::vector<std::pair<std::string, std::string>> expected{
        {own, ownCertificate.serial},
        {deep, deepCertificate.serial},
        {std::string("other.").append(apex), wildcard.serial}};
    for (const auto& [name, serial] : expected) {
        CAPTURE(name);
        const ServedCertificate byNginx = servedCertificate(host.nginxPort(), name);
        CHECK_MESSAGE(byNginx.serial == serial, byNginx.output);
        CHECK(waitServed(host.haproxyPort(), name, serial).serial == serial);
    }
    INFO(readFile(host.edgeDir() + "/nginx-wildcards.map"));
    CHECK(readFile(host.edgeDir() + "/nginx-wildcards.map").find(own + " " + own + ";\n") !=
          std::string::npos);
}

TEST_CASE("edge: 200 certificates stored at once reach HAProxy in one batch") {
    EdgeDomains domains;
    TlsHost host(domains.url());
    startHost(host, false);
    std::string batch = "BEGIN;";
    std::vector<std::pair<std::string, StoredCertificate>> stored;
    const std::string prefix = uniqueDomainName("batch");
    for (int i = 0; i < 200; ++i) {
        const std::string name = numberedName("n", i, prefix);
        StoredCertificate certificate;
        batch += domains.certificateInsert(domains.add(name), name, certificate);
        stored.emplace_back(name, certificate);
    }
    domains.run(batch + "COMMIT;");
    const bool all = waitFor(60s, [&] {
        return fs::exists(host.edgeDir() + "/" + stored.back().first + ".pem") &&
               host.agent()->log().find("\"written\":200") != std::string::npos;
    });
    INFO(describe(*host.agent()));
    REQUIRE(all);
    // One batch: one "edge files updated" line for the 200, one crt-list rewrite.
    const std::string log = host.agent()->log();
    CHECK(
        std::regex_search(log, std::regex("\"msg\":\"edge files updated\"[^\n]*\"written\":200")));
    for (const int i : {0, 99, 199}) {
        CAPTURE(stored[i].first);
        CHECK(servedCertificate(host.haproxyPort(), stored[i].first).serial ==
              stored[i].second.serial);
    }
    const std::string list = readFile(host.edgeDir() + "/haproxy.crt-list");
    CHECK(std::count(list.begin(), list.end(), '\n') == 201);  // a comment and 200 files
}

TEST_CASE(
    "edge: files are 0640 for EDGE_GROUP or 0600, the directory writable by the agent "
    "alone, and a file the agent did not write is never touched") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("modes");
    const std::string other = uniqueDomainName("planted");
    domains.storeCertificate(domains.add(name), name);
    domains.storeCertificate(domains.add(other), other);
    TlsHost host(domains.url());
    // Someone else's file where the agent would write one domain's.
    fs::create_directories(host.edgeDir());
    fs::permissions(host.edgeDir(), fs::perms(0755), fs::perm_options::replace);
    const std::string planted = host.edgeDir() + "/" + other + ".pem";
    {
        std::ofstream out(planted);
        out << "not the agent's\n";
    }
    const CommandResult grouped = host.syncOnce();
    CHECK(grouped.exitCode == 1);  // one domain could not be applied
    CHECK(grouped.output.find("not in its manifest") != std::string::npos);
    CHECK(readFile(planted) == "not the agent's\n");
    const std::string file = host.edgeDir() + "/" + name + ".pem";
    CHECK(modeOf(file) == 0640);
    struct stat info {};
    ::stat(file.c_str(), &info);
    CHECK(info.st_gid == 33);  // www-data
    CHECK((modeOf(host.edgeDir()) & 022) == 0);
    fs::remove(planted);
    // Without EDGE_GROUP the key material is the agent's alone.
    const CommandResult alone = host.syncOnce({{"EDGE_GROUP", ""}});
    CHECK_MESSAGE(alone.exitCode == 0, alone.output);
    CHECK(modeOf(file) == 0600);
    CHECK(modeOf(host.edgeDir() + "/" + other + ".pem") == 0600);
    // Removing a domain removes its file; the manifest forgets it; nothing else goes.
    {
        std::ofstream out(host.edgeDir() + "/operator-notes.txt");
        out << "mine\n";
    }
    domains.run("DELETE FROM domains WHERE domain_name = " + dnsh::test::quoted(name));
    CHECK(host.syncOnce({{"EDGE_GROUP", ""}}).exitCode == 0);
    CHECK_FALSE(fs::exists(file));
    CHECK(fs::exists(host.edgeDir() + "/operator-notes.txt"));
    CHECK(readFile(host.edgeDir() + "/.edge-sync.manifest").find(name) == std::string::npos);
}

TEST_CASE("edge: a second agent on the same directory, and bad settings, stop at start") {
    TlsHost host;
    host.startAgent();
    const CommandResult second = host.syncOnce();
    CHECK(second.exitCode != 0);
    CHECK(second.output.find("another edge agent is running") != std::string::npos);
    host.stopAgent();  // the KEK is read once the directory is the agent's
    struct Case {
        std::string description;
        std::map<std::string, std::string> env;
        std::string expected;
    };
    const TempDir keys;
    const std::string readableKek = keys.write("kek", std::string(64, 'a'));
    fs::permissions(readableKek, fs::perms::others_read, fs::perm_options::add);
    const std::vector<Case> cases{
        {"no EDGE_DIR", {{"EDGE_DIR", ""}}, "EDGE_DIR is not set"},
        {"a relative EDGE_DIR", {{"EDGE_DIR", "edge"}}, "EDGE_DIR"},
        {"an unknown group", {{"EDGE_GROUP", "no-such-group-here"}}, "EDGE_GROUP"},
        {"a bad interval", {{"EDGE_RECONCILE_INTERVAL", "soon"}}, "EDGE_RECONCILE_INTERVAL"},
        {"EDGE_LISTEN neither on nor off", {{"EDGE_LISTEN", "yes"}}, "EDGE_LISTEN"},
        {"no KEK", {{"KEY_ENCRYPTION_KEY_FILE", ""}}, "KEY_ENCRYPTION_KEY_FILE"},
        {"a KEK file this host lacks",
         {{"KEY_ENCRYPTION_KEY_FILE", keys.path() + "/absent"}},
         "cannot read KEY_ENCRYPTION_KEY_FILE"},
        {"a KEK file open to others", {{"KEY_ENCRYPTION_KEY_FILE", readableKek}}, "has mode"},
        // Before, taken for an outage at every connect and retried for ever.
        {"a DATABASE_URL libpq cannot parse",
         {{"DATABASE_URL", "postgresql://127.0.0.1/dnsh?sslmod=verify-full"}},
         "invalid DATABASE_URL"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const CommandResult result = host.syncOnce(c.env);
        CHECK(result.exitCode == 78);
        CHECK_MESSAGE(result.output.find(c.expected) != std::string::npos, result.output);
    }
}

// The env file is one for every host: the agent reads none of the CA settings, so a TLS host
// needs neither ACME_CAS_FILE's file (it holds the CAs' EAB keys) nor a copy of it.
TEST_CASE("edge: ACME_CAS_FILE naming a file this host does not have does not stop the agent") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("no-cas-file");
    domains.storeCertificate(domains.add(name), name);
    TlsHost host(domains.url());
    const CommandResult once =
        host.syncOnce({{"ACME_CAS_FILE", "/nonexistent/dns-handling/cas.env"}});
    CHECK_MESSAGE(once.exitCode == 0, once.output);
    CHECK_MESSAGE(once.output.find("ACME_CAS_FILE") == std::string::npos, once.output);
    CHECK(fs::exists(host.edgeDir() + "/" + name + ".pem"));
}

TEST_CASE("edge: a key that does not open is skipped and reported, the other domains applied") {
    EdgeDomains domains;
    const std::string good = uniqueDomainName("good");
    const std::string bad = uniqueDomainName("sealed-elsewhere");
    domains.storeCertificate(domains.add(good), good);
    StoredCertificate unusable;
    domains.run(
        domains.certificateInsert(domains.add(bad), bad, unusable, "bm90LWEtc2VhbGVkLWtleQ"));
    TlsHost host(domains.url());
    const CommandResult result = host.syncOnce();
    CHECK(result.exitCode == 1);
    CHECK(result.output.find("\"certificate not applied\"") != std::string::npos);
    CHECK(result.output.find(bad) != std::string::npos);
    CHECK(fs::exists(host.edgeDir() + "/" + good + ".pem"));
    CHECK_FALSE(fs::exists(host.edgeDir() + "/" + bad + ".pem"));
    CHECK(domains.text("SELECT failing FROM edge_agents WHERE agent = " +
                       dnsh::test::quoted("test:" + host.edgeDir())) == "1");
}

TEST_CASE(
    "edge: after a restart, a domain whose newest key does not open stays in HAProxy with its "
    "older file") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("kept-older");
    const std::string id = domains.add(name);
    const StoredCertificate older = domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    REQUIRE(waitServed(host.haproxyPort(), name, older.serial).serial == older.serial);
    // A renewal sealed under a KEK this host lacks (a rotation under way), seen by a fresh agent:
    // it knows the domain only from the file an earlier run wrote.
    StoredCertificate unusable;
    domains.run(domains.certificateInsert(id, name, unusable, "bm90LWEtc2VhbGVkLWtleQ"));
    const CommandResult restarted = host.syncOnce();
    CHECK(restarted.exitCode == 1);
    CHECK(restarted.output.find("\"certificate not applied\"") != std::string::npos);
    const std::string file = host.edgeDir() + "/" + name + ".pem";
    CHECK(readFile(host.edgeDir() + "/haproxy.crt-list").find(file + "\n") != std::string::npos);
    const ServedCertificate served = servedCertificate(host.haproxyPort(), name);
    CHECK_MESSAGE(served.serial == older.serial, served.output);
    // A restarted HAProxy loads it again from the crt-list.
    host.stopHaproxy();
    host.startHaproxy();
    CHECK(servedCertificate(host.haproxyPort(), name).serial == older.serial);
}

TEST_CASE("edge: /metrics counts live agents and how long a certificate has waited for one") {
    EdgeDomains domains;
    // The metrics handler, as CGI, on the case's database.
    auto metric = [&](const std::string& name) {
        const HttpResult metrics =
            runCgi("metrics", {"GET", "/metrics", "", "", {{"DATABASE_URL", domains.url()}}});
        std::smatch match;
        const std::regex line("\n" + name + " ([0-9.e+]+)");
        return std::regex_search(metrics.body, match, line) ? std::stod(match[1]) : -1.0;
    };
    CHECK(metric("dnsh_edge_agents_live") == 0);
    const std::string name = uniqueDomainName("metrics");
    const std::string id = domains.add(name);
    domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent();
    CHECK(waitFor(10s, [&] { return metric("dnsh_edge_agents_live") == 1; }));
    CHECK(metric("dnsh_edge_agents_known") == 1);
    CHECK(metric("dnsh_edge_undelivered_oldest_age_seconds") == 0);
    // HAProxy gone: the renewed certificate is on disk but not served, and the gauge says so.
    host.stopHaproxy();
    domains.storeCertificate(id, name);
    INFO(describe(*host.agent()));
    CHECK(waitFor(40s, [&] { return metric("dnsh_edge_undelivered_oldest_age_seconds") >= 2; }));
    host.startHaproxy();
    CHECK(waitFor(40s, [&] { return metric("dnsh_edge_undelivered_oldest_age_seconds") == 0; }));
}
