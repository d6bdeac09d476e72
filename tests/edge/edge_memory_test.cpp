// The edge agent's memory in a full reconcile does not grow with the PEMs of every domain: it
// reads and writes them a page at a time (README, "Changes"), so a million domains with real
// chains do not get it OOM-killed in its first reconcile, again at every restart. Nor when every
// domain fails and it tries them again between reconciles (README, "Reporting"), nor when a
// burst of certificates is stored while it follows.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/key_encryption.hpp"
#include "edge/edge_support.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A process's peak resident set (VmHWM), in bytes; 0 when it cannot be read.
long long peakResidentBytes(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "... kB"
    return 0;
}

constexpr int kDomains = 2'000;
constexpr std::size_t kChainBytes = 50 * 1024;

struct StoredRows {
    std::string parent;       // the domains are n1.<parent> ... n2000.<parent>
    std::size_t copies = 0;   // of the intermediate in each chain
    long long storedBytes = 0;
};

// kDomains certificate rows with kChainBytes chains, their keys sealed under `kekFile`.
StoredRows storeRows(EdgeDomains& domains, const std::string& kekFile) {
    StoredRows rows;
    const std::string parent = rows.parent = uniqueDomainName("memory");
    // One leaf, key and chain for every row: the agent checks none against the domain's name, and
    // reads, re-encodes, writes and drops each row all the same. The chain is the intermediate
    // again and again (OpenSSL reads each copy; nginx would serve them all).
    const IssuedChain issued = issueThroughIntermediate(parent);
    std::string chain;
    while (chain.size() < kChainBytes) chain += issued.intermediatePem;
    rows.copies = chain.size() / issued.intermediatePem.size();
    const std::string sealed = dnsh::KeyEncryptor::fromFile(kekFile).encrypt(issued.keyPem);
    const std::string count = std::to_string(kDomains);
    // Two statements, the chain built by the server: no 100 MB of SQL text through the client.
    domains.run("INSERT INTO domains (id, domain_name, verification_token)"
                " SELECT md5('memory-d' || i), 'n' || i || '.' || " + quoted(parent) +
                ", md5('t' || i) || md5('u' || i) FROM generate_series(1, " + count + ") i");
    domains.run("INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem,"
                " private_key_ciphertext, key_id, issued_at, expires_at)"
                " SELECT md5('memory-c' || i), md5('memory-d' || i), " + quoted(issued.leafPem) +
                ", repeat(" + quoted(issued.intermediatePem) + ", " +
                std::to_string(rows.copies) + "), " + quoted(sealed) +
                ", 'edge-test', now(), now() + interval '30 days'" +
                " FROM generate_series(1, " + count + ") i");
    rows.storedBytes = std::stoll(domains.text(
        "SELECT sum(octet_length(certificate_pem) + octet_length(chain_pem)"
        " + octet_length(private_key_ciphertext)) FROM certificates"));
    REQUIRE(rows.storedBytes > kDomains * static_cast<long long>(kChainBytes));  // about 100 MB
    return rows;
}

}  // namespace

TEST_CASE(
    "edge: a full reconcile of 2,000 certificates with 50 KB chains peaks far below their size") {
    EdgeDomains domains;
    const StoredRows rows = storeRows(domains, requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const std::string& parent = rows.parent;
    const auto copies = rows.copies;
    const long long storedBytes = rows.storedBytes;
    const std::string count = std::to_string(kDomains);

    TlsHost host(domains.url());
    // Following, so its peak can be read once the start's reconcile is done. No poll for an
    // hour: the rows' edge_events are inside its 30 s overlap, and applying 2,000 names in one
    // batch is not what this case measures.
    ChildProcess& agent = host.startAgent({{"EDGE_POLL_INTERVAL", "1h"}});
    const bool reconciled = waitFor(300s, [&] {
        return agent.log().find("\"written\":" + count) != std::string::npos;
    });
    INFO(describe(agent));
    REQUIRE(reconciled);  // every domain written, none failed
    const long long peak = peakResidentBytes(agent.pid());
    MESSAGE("agent peak RSS " << peak / (1024 * 1024) << " MiB for " << storedBytes / (1024 * 1024)
                              << " MiB of stored rows");
    REQUIRE(peak > 0);
    // Every row held at once (libpq's result, then the copies alongside it) is more than twice
    // the stored bytes, about 200 MB; a page of 200 rows held twice is about 20 MB, over the
    // agent's own 10-20 MB. The bound, the stored bytes, is wide of both.
    CHECK(peak < storedBytes);

    // The rows were applied as stored: the whole chain in a file, every file in the crt-list.
    const std::string first = host.edgeDir() + "/n1." + parent + ".pem";
    const std::string file = readFile(first);
    std::size_t certificates = 0;
    for (auto at = file.find("BEGIN CERTIFICATE"); at != std::string::npos;
         at = file.find("BEGIN CERTIFICATE", at + 1))
        ++certificates;
    CHECK(certificates == copies + 1);
    CHECK(fs::exists(host.edgeDir() + "/n" + count + "." + parent + ".pem"));
    const std::string list = readFile(host.edgeDir() + "/haproxy.crt-list");
    CHECK(std::count(list.begin(), list.end(), '\n') == kDomains + 1);  // a comment, the files
}

TEST_CASE(
    "edge: 2,000 certificates under a KEK the host lacks, tried again and again, peak far below "
    "their size and every one is tried") {
    EdgeDomains domains;
    TempDir keys;
    // The rotated KEK the scheduler sealed under; the operator left this host out.
    const std::string missing = keys.path() + "/missing.kek";
    REQUIRE(runCommand("umask 077; openssl rand -hex 32 > " + missing).exitCode == 0);
    const StoredRows rows = storeRows(domains, missing);
    // Only the reconcile and the tries of failing domains read them: the poll's 30 s overlap
    // would otherwise offer all 2,000 names in one batch (not what this case measures).
    domains.run("DELETE FROM edge_events");

    TlsHost host(domains.url());
    // Tried again 1 s after the first failure, then 2 s after those tries ended, ...
    ChildProcess& agent = host.startAgent({{"EDGE_POLL_INTERVAL", "1s"}});
    INFO(describe(agent));
    // The name that sorts last among the failing ones: its line comes from the reconcile, then
    // from each round of tries, which reaches it only when it goes on past a page of names.
    const std::string lastTried = "\"domain\":\"n999." + rows.parent + "\"";
    const bool triedTwice = waitFor(
        300s,
        [&] {
            const std::string log = agent.log();
            int lines = 0;
            for (auto at = log.find(lastTried); at != std::string::npos;
                 at = log.find(lastTried, at + 1))
                ++lines;
            return lines >= 3;
        },
        500ms);  // the log grows by 2,000 lines a round
    REQUIRE(triedTwice);
    CHECK(agent.log().find("\"failed\":" + std::to_string(kDomains)) != std::string::npos);
    const long long peak = peakResidentBytes(agent.pid());
    MESSAGE("agent peak RSS " << peak / (1024 * 1024) << " MiB for "
                              << rows.storedBytes / (1024 * 1024) << " MiB of stored rows");
    REQUIRE(peak > 0);
    // Before, each round of tries read every failing domain's row in one result, as a reconcile
    // did before it was paged: over twice the stored bytes at the first try.
    CHECK(peak < rows.storedBytes);
    CHECK(waitFor(20s, [&] {
        return domains.text("SELECT failing FROM edge_agents") == std::to_string(kDomains);
    }));
}

TEST_CASE(
    "edge: a burst of 2,000 certificates with 50 KB chains stored while the agent follows peaks "
    "far below their size") {
    EdgeDomains domains;
    TlsHost host(domains.url());
    // Following an empty set first; no poll for an hour: the burst comes by LISTEN, its 2,000
    // notifications in one batch (they are sent at the one commit of the certificates' INSERT).
    ChildProcess& agent = host.startAgent({{"EDGE_POLL_INTERVAL", "1h"}});
    INFO(describe(agent));
    // Its first reconcile done (the heartbeat follows it), so the burst is not read by that.
    REQUIRE(waitFor(30s, [&] { return domains.text("SELECT count(*) FROM edge_agents") == "1"; }));
    const long long before = peakResidentBytes(agent.pid());
    const StoredRows rows = storeRows(domains, requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const std::string count = std::to_string(kDomains);
    const std::string crtList = host.edgeDir() + "/haproxy.crt-list";
    auto listed = [&] {
        const std::string list = fs::exists(crtList) ? readFile(crtList) : "";
        return std::count(list.begin(), list.end(), '\n');  // a comment, then the files
    };
    const bool applied = waitFor(300s, [&] { return listed() == kDomains + 1; }, 500ms);
    REQUIRE(applied);  // every domain written
    CHECK(agent.log().find("certificate not applied") == std::string::npos);
    const long long peak = peakResidentBytes(agent.pid());
    MESSAGE("agent peak RSS " << before / (1024 * 1024) << " MiB before the burst, "
                              << peak / (1024 * 1024) << " MiB after it, for "
                              << rows.storedBytes / (1024 * 1024) << " MiB of stored rows");
    REQUIRE(peak > 0);
    // Read in one result, the burst's rows were held twice (libpq's result and the copies):
    // more than twice the stored bytes. A page at a time, as the reconcile reads them, about
    // 20 MB over the agent's own.
    CHECK(peak < rows.storedBytes);
    CHECK(fs::exists(host.edgeDir() + "/n" + count + "." + rows.parent + ".pem"));
}
