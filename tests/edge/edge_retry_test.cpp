// What a following agent tries again by itself, before the next full reconcile (1 h here): a
// round that stopped half-way, and a domain whose certificate it could not apply (README,
// "Certificates on the TLS terminators", "Files" and "Reporting").
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "edge/edge_support.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool logged(const ChildProcess& agent, const std::string& text) {
    return agent.log().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "edge: a round that stopped after writing a new domain's file, before the crt-list, is "
    "finished by the next one and HAProxy serves the domain") {
    EdgeDomains domains;
    const std::string kept = uniqueDomainName("round-kept");
    const StoredCertificate keptCertificate = domains.storeCertificate(domains.add(kept), kept);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    // The --once run's heartbeat goes: the agent's own says its first reconcile is over.
    domains.run("DELETE FROM edge_agents");
    host.startAgent({{"EDGE_RECONCILE_INTERVAL", "1h"}});
    INFO(describe(*host.agent()));
    REQUIRE(waitFor(15s, [&] { return domains.text("SELECT count(*) FROM edge_agents") == "1"; }));
    // The crt-list cannot be replaced (the rename over a directory fails), as on a full disk
    // where it, the largest file the agent writes, is the one that does not fit.
    const std::string list = host.edgeDir() + "/haproxy.crt-list";
    REQUIRE(fs::remove(list));
    REQUIRE(fs::create_directory(list));
    std::ofstream(list + "/in-the-way") << "x\n";
    const std::string added = uniqueDomainName("round-added");
    const StoredCertificate addedCertificate = domains.storeCertificate(domains.add(added), added);
    REQUIRE(waitFor(15s, [&] { return logged(*host.agent(), "edge round failed, will retry"); }));
    const std::string addedFile = host.edgeDir() + "/" + added + ".pem";
    CHECK(fs::exists(addedFile));  // written before the crt-list
    fs::remove_all(list);  // space freed: the agent writes the crt-list anew
    // Before, the retries found the domain's file as it should be and stopped there: no
    // crt-list at all and HAProxy's default certificate for the new domain, with failing=0,
    // until the next full reconcile.
    CHECK(waitServed(host.haproxyPort(), added, addedCertificate.serial).serial ==
          addedCertificate.serial);
    const std::string entry = "/" + added + ".pem\n";
    CHECK(waitFor(5s, [&] { return readFile(list).find(entry) != std::string::npos; }));
    CHECK(servedCertificate(host.haproxyPort(), kept).serial == keptCertificate.serial);
    CHECK(waitFor(20s, [&] { return domains.text("SELECT failing FROM edge_agents") == "0"; }));
}

TEST_CASE(
    "edge: a certificate sealed under a KEK the host lacks is served soon after the KEK is put "
    "in place, though newer events moved the poll past it") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("kek-late");
    const std::string id = domains.add(name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    TempDir keys;
    // The rotated KEK: the scheduler seals under it, the operator forgot this host.
    const std::string staged = keys.path() + "/staged.kek";
    const std::string next = keys.path() + "/next.kek";  // where this host's agent looks
    REQUIRE(runCommand("umask 077; openssl rand -hex 32 > " + staged).exitCode == 0);
    // LISTEN off: every change comes through the poll, so the test can tell when the poll's
    // cursor has moved.
    host.startAgent(
        {{"KEY_ENCRYPTION_KEY_FILE", next + "," + requireEnv("KEY_ENCRYPTION_KEY_FILE")},
         {"EDGE_LISTEN", "off"},
         {"EDGE_RECONCILE_INTERVAL", "1h"}});
    INFO(describe(*host.agent()));
    StoredCertificate sealed;
    domains.run(domains.certificateInsert(id, name, sealed, "", staged));
    REQUIRE(waitFor(15s, [&] { return logged(*host.agent(), "certificate not applied"); }));
    // On a busy fleet renewals of other domains soon move the poll's cursor more than its 30 s
    // overlap past this one's event, and the poll stops offering it. One renewal stored now
    // whose event is dated a minute on (what a renewal 60 s later would write) stands for them.
    const std::string other = uniqueDomainName("kek-late-other");
    const std::string otherId = domains.add(other);
    StoredCertificate otherCertificate;
    domains.run("BEGIN;" + domains.certificateInsert(otherId, other, otherCertificate) +
                "INSERT INTO edge_events (domain_name, happened_at) VALUES (" + quoted(other) +
                ", now() + interval '1 minute'); COMMIT;");
    // Only the poll that read both events, and so moved the cursor, applies it.
    REQUIRE(waitServed(host.haproxyPort(), other, otherCertificate.serial).serial ==
            otherCertificate.serial);
    // The operator copies the KEK over (renamed into place, as the README's rotation says).
    REQUIRE(runCommand("mv " + staged + " " + next).exitCode == 0);
    // Tried again one poll interval after the first failure, then 2, 4, 8 s later: within 20 s
    // of the KEK (before, not until the next full reconcile, 1 h here: HAProxy's default
    // certificate, failing=1).
    CHECK(waitServed(host.haproxyPort(), name, sealed.serial, 20s).serial == sealed.serial);
    CHECK(waitFor(10s, [&] { return domains.text("SELECT failing FROM edge_agents") == "0"; }));
}
