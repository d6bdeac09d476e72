// Chains as CAs send them reach a running HAProxy through its runtime API: Boulder (Let's
// Encrypt) writes a blank line before each chain certificate and some CAs send CRLF, while
// `set ssl cert` ends its payload at the first empty line (HAProxy management guide §9.3). The
// rows are stored as sent, as the scheduler stored them before it re-encoded chains. A chain too
// long for the runtime API is refused, and reported as not applied until HAProxy takes one.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "edge/edge_support.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

std::string withCrlf(const std::string& text) {
    std::string out;
    for (const char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
}

// `issued`'s chain and 9 CA certificates more (RSA 4096, about 1.8 KB each): the domain's file
// passes the 15,000 bytes HAProxy's runtime API takes in one request, so the agent refuses it
// (README, "HAProxy"); the file itself is written.
std::string oversizedChain(const IssuedChain& issued) {
    TempDir dir;
    const std::string at = dir.path() + "/";
    std::string script = "openssl genrsa -out ";
    script.append(at).append("ca.key 4096 2>&1");
    for (int i = 0; i < 9; ++i) {
        const std::string n = std::to_string(i);
        script.append(" && openssl req -x509 -key ").append(at).append("ca.key -days 30 ");
        script.append("-subj /CN=edge-test-ca-").append(n).append(" -out ").append(at);
        script.append("ca").append(n).append(".pem 2>&1");
    }
    const CommandResult made = runCommand(script);
    REQUIRE_MESSAGE(made.exitCode == 0, made.output);
    std::string chain = issued.intermediatePem + issued.rootPem;
    for (int i = 0; i < 9; ++i) chain += readFile(at + "ca" + std::to_string(i) + ".pem");
    REQUIRE(chain.size() > 15'000);
    return chain;
}

// edge_agents' row of the host's agent: `column`.
std::string agentRow(EdgeDomains& domains, const TlsHost& host, const std::string& column) {
    return domains.text("SELECT " + column + " FROM edge_agents WHERE agent = " +
                        quoted("test:" + host.edgeDir()));
}

}  // namespace

TEST_CASE(
    "edge: a renewal whose chain has a blank line between its two CA certificates, or CRLF, "
    "reaches a running HAProxy whole") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("chain");
    const std::string id = domains.add(name);
    const StoredCertificate first = domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startNginx();
    host.startAgent();
    REQUIRE(waitServed(host.haproxyPort(), name, first.serial).serial == first.serial);
    const int haproxyPid = host.haproxyPid();
    TempDir roots;

    struct Case {
        std::string description;
        bool crlf;
    };
    for (const Case& c : {Case{"a blank line between the CA certificates (Boulder)", false},
                          Case{"CRLF line ends and a blank line between them", true}}) {
        CAPTURE(c.description);
        const IssuedChain issued = issueThroughIntermediate(name);
        const std::string chain = issued.intermediatePem + "\n" + issued.rootPem;
        const StoredCertificate renewed =
            c.crlf ? domains.storeIssued(id, withCrlf(issued.leafPem), withCrlf(chain),
                                         issued.keyPem)
                   : domains.storeIssued(id, issued.leafPem, chain, issued.keyPem);
        const std::string root = roots.write(std::string(c.crlf ? "crlf" : "lf") + "-root.pem",
                                             issued.rootPem);
        INFO("agent: " << describe(*host.agent()));
        // The key got through (HAProxy took the certificate), and the intermediate did: a client
        // trusting only the root verifies the served chain for the name.
        const ServedCertificate byHaproxy = waitServed(host.haproxyPort(), name, renewed.serial);
        CHECK_MESSAGE(byHaproxy.serial == renewed.serial, byHaproxy.output);
        const ServedCertificate verified = servedCertificate(host.haproxyPort(), name, root);
        CHECK_MESSAGE(verified.verified, verified.output);
        const ServedCertificate byNginx = servedCertificate(host.nginxPort(), name, root);
        CHECK_MESSAGE((byNginx.serial == renewed.serial && byNginx.verified), byNginx.output);
        // The file, which HAProxy loads at its next start, is the payload it was sent.
        const std::string file = readFile(host.edgeDir() + "/" + name + ".pem");
        CHECK(file.find("\n\n") == std::string::npos);
        CHECK(file.find('\r') == std::string::npos);
        CHECK(file.find(issued.leafPem + issued.intermediatePem + issued.rootPem) == 0);
    }
    CHECK(host.haproxyPid() == haproxyPid);  // through the runtime API, no restart
    CHECK(host.agent()->log().find("HAProxy refused a certificate") == std::string::npos);
}

TEST_CASE("edge: --once exits 1 while HAProxy refuses a domain's certificate") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("refused-once");
    const std::string id = domains.add(name);
    const StoredCertificate first = domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    REQUIRE(waitServed(host.haproxyPort(), name, first.serial).serial == first.serial);
    const IssuedChain issued = issueThroughIntermediate(name);
    domains.storeIssued(id, issued.leafPem, oversizedChain(issued), issued.keyPem);
    // README: "exits (0, or 1 when something was not applied)".
    const CommandResult refused = host.syncOnce();
    INFO(refused.output);
    CHECK(refused.output.find("HAProxy refused a certificate") != std::string::npos);
    CHECK(refused.exitCode == 1);
    // The next run finds the file as it should be: HAProxy still has not got it.
    const CommandResult again = host.syncOnce();
    INFO(again.output);
    CHECK(again.exitCode == 1);
    CHECK(agentRow(domains, host, "failing") == "1");
    CHECK(servedCertificate(host.haproxyPort(), name).serial == first.serial);
}

TEST_CASE(
    "edge: a certificate HAProxy refused stays failing in edge_agents after the polls that "
    "read its domain again") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("refused-poll");
    const std::string id = domains.add(name);
    const StoredCertificate first = domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent();  // EDGE_POLL_INTERVAL=1s
    REQUIRE(waitServed(host.haproxyPort(), name, first.serial).serial == first.serial);
    const IssuedChain issued = issueThroughIntermediate(name);
    const StoredCertificate big =
        domains.storeIssued(id, issued.leafPem, oversizedChain(issued), issued.keyPem);
    INFO(describe(*host.agent()));
    REQUIRE(waitFor(15s, [&] {
        return host.agent()->log().find("HAProxy refused a certificate") != std::string::npos;
    }));
    // Each poll (30 s of overlap) reads the domain again and finds its file unchanged: that
    // cleared the refusal before, and the next heartbeat said failing=0.
    std::this_thread::sleep_for(3s);
    const std::string mark = domains.text("SELECT now()");
    CHECK(waitFor(20s, [&] {  // a heartbeat every 15 s
        return !domains
                    .text("SELECT 1 FROM edge_agents WHERE agent = " +
                          quoted("test:" + host.edgeDir()) + " AND heartbeat_at > " +
                          quoted(mark))
                    .empty();
    }));
    CHECK(agentRow(domains, host, "failing") == "1");
    // Nor does applied_through claim it (the undelivered-age gauge reads it).
    CHECK(agentRow(domains, host,
                   "applied_through < (SELECT created_at FROM certificates WHERE id = " +
                       quoted(big.id) + ")") == "t");
    CHECK(servedCertificate(host.haproxyPort(), name).serial == first.serial);
    CHECK(host.agent()->running());

    // HAProxy restarted reads the file itself (no runtime API limit there) and serves it: the
    // refusal no longer stands, and the agent says so (before: failing until the next
    // certificate, and the retries refused again every few minutes).
    host.stopHaproxy();
    host.startHaproxy();
    REQUIRE(waitServed(host.haproxyPort(), name, big.serial).serial == big.serial);
    const std::string restarted = domains.text("SELECT now()");
    CHECK(waitFor(60s, [&] {  // the refusal's retry backoff, then a heartbeat every 15 s
        return agentRow(domains, host,
                        "failing = 0 AND heartbeat_at > " + quoted(restarted)) == "t";
    }));
    CHECK(agentRow(domains, host,
                   "applied_through >= (SELECT created_at FROM certificates WHERE id = " +
                       quoted(big.id) + ")") == "t");
}
