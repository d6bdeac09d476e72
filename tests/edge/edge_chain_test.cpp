// Chains as CAs send them reach a running HAProxy through its runtime API: Boulder (Let's
// Encrypt) writes a blank line before each chain certificate and some CAs send CRLF, while
// `set ssl cert` ends its payload at the first empty line (HAProxy management guide §9.3). The
// rows are stored as sent, as the scheduler stored them before it re-encoded chains.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "edge/edge_support.hpp"
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
