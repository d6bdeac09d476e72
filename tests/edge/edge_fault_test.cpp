// The edge agent when what it depends on fails (README, "Certificates on the TLS terminators"):
// PostgreSQL stopped, HAProxy restarted, the agent killed mid-batch, a full disk, the TCP
// keepalives that notice a vanished primary; and the least-privilege role it is meant to run as.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "edge/edge_support.hpp"
#include "crypto/certificate.hpp"
#include "crypto/random.hpp"
#include "edge/edge_names.hpp"
#include "edge/haproxy_runtime.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/pg_proxy.hpp"
#include "support/service_control.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE(
    "edge: PostgreSQL down leaves the files as they are, and the agent catches up by itself") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("outage");
    const std::string id = domains.add(name);
    const StoredCertificate first = domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent();
    REQUIRE(waitServed(host.haproxyPort(), name, first.serial).serial == first.serial);
    const std::string file = host.edgeDir() + "/" + name + ".pem";
    const std::string before = readFile(file);
    {
        StoppableService postgres("postgres");
        postgres.stop();
        std::this_thread::sleep_for(3s);  // the agent polls (1 s) and fails meanwhile
        CHECK(host.agent()->running());
        CHECK(readFile(file) == before);
        CHECK(servedCertificate(host.haproxyPort(), name).serial == first.serial);
        postgres.start();
    }
    // Stored while the agent was reconnecting: its NOTIFY may be lost, the poll finds it.
    const StoredCertificate second = domains.storeCertificate(id, name);
    INFO(describe(*host.agent()));
    CHECK(waitServed(host.haproxyPort(), name, second.serial, 30s).serial == second.serial);
    CHECK(host.agent()->log().find("database unavailable") != std::string::npos);
    // libpq's reason redacted as everywhere else: before, it quoted the socket's path
    // ("connection to server on socket \"/.../.s.PGSQL.5432\" failed").
    CHECK(host.agent()->log().find(".s.PGSQL.") == std::string::npos);
}

namespace {

// A timer as ss prints it (iproute2's print_ms_timer): "119min", "1min5sec", "12sec", "4.688ms"
// (4.688 s: seconds, then milliseconds), "350ms"; "" is 0. In milliseconds; nothing when the text
// is none of those.
std::optional<long long> ssTimerMillis(const std::string& text) {
    static const std::regex form(R"(^(?:(\d+)min)?(?:(\d+)sec|(\d+)\.(\d{3})ms|(\d+)ms)?$)");
    std::smatch match;
    if (!std::regex_match(text, match, form)) return std::nullopt;
    auto number = [&](int i) { return match[i].matched ? std::stoll(match[i].str()) : 0LL; };
    return number(1) * 60'000 + (number(2) + number(3)) * 1'000 + number(4) + number(5);
}

// The keepalive timer (ms) of process `pid`'s established TCP connection to 127.0.0.1:`port`, as
// `ss -tnpo` shows it; nothing while there is no such connection or it shows another timer (a
// retransmission while a statement's bytes are unacknowledged). `seen`: ss's lines, for messages.
std::optional<long long> keepaliveTimer(int pid, int port, std::string& seen) {
    const CommandResult listed = runCommand("ss -Htnpo state established '( dport = :" +
                                            std::to_string(port) + " )'");
    seen = listed.output;
    static const std::regex timer(R"(timer:\(keepalive,([^,]*),)");
    std::istringstream lines(listed.output);
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (line.find("pid=" + std::to_string(pid) + ",") != std::string::npos &&
            std::regex_search(line, match, timer))
            return ssTimerMillis(match[1].str());
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("edge: ss timers are read as ss prints them") {
    CHECK(ssTimerMillis("119min") == 119 * 60'000);
    CHECK(ssTimerMillis("1min5sec") == 65'000);
    CHECK(ssTimerMillis("12sec") == 12'000);
    CHECK(ssTimerMillis("4.688ms") == 4'688);
    CHECK(ssTimerMillis("3.024ms") == 3'024);
    CHECK(ssTimerMillis("350ms") == 350);
    CHECK(ssTimerMillis("") == 0);
    CHECK_FALSE(ssTimerMillis("on").has_value());
}

TEST_CASE("edge: the agent's database connection has DB_KEEPALIVE_* like every other") {
    // README, DB_KEEPALIVE_*: "TCP keepalives of every database connection". Without them a
    // primary that vanished holds the agent's next statement for the kernel's retransmissions
    // (about 15 min) and renewed certificates wait that long to reach HAProxy.
    REQUIRE_MESSAGE(runCommand("command -v ss").exitCode == 0, "ss (iproute2) is not installed");
    EdgeDomains domains;
    const std::string name = uniqueDomainName("keepalive");
    domains.storeCertificate(domains.add(name), name);
    // Keepalives are TCP's: the stack's PostgreSQL listens on a unix socket only, so the agent
    // reaches it through a TCP relay on loopback.
    PgProxy proxy("", PgProxy::Listen::Loopback);
    const std::string url =
        proxy.databaseUrl() + " dbname=" + domains.text("SELECT current_database()");
    TlsHost host(domains.url());
    // The interval as short as the idle time: whether probes run or not, the timer stays <= 5 s.
    host.startAgent(
        {{"DATABASE_URL", url}, {"DB_KEEPALIVE_IDLE", "5s"}, {"DB_KEEPALIVE_INTERVAL", "5s"}});
    INFO(describe(*host.agent()));
    REQUIRE(waitFor(15s, [&] { return fs::exists(host.edgeDir() + "/" + name + ".pem"); }));
    std::string seen;
    std::optional<long long> timer;
    const bool found = waitFor(
        10s,
        [&] {
            timer = keepaliveTimer(host.agent()->pid(), proxy.port(), seen);
            return timer.has_value();
        },
        100ms);
    REQUIRE_MESSAGE(found, "no keepalive timer on the agent's connection to port "
                               << proxy.port() << "; ss shows:\n"
                               << seen);
    CHECK_MESSAGE(*timer <= 5'000, "keepalive timer " << *timer << " ms; ss shows:\n" << seen);
}

TEST_CASE(
    "edge: with HAProxy down the files are still written, and a restarted HAProxy serves "
    "the full set") {
    EdgeDomains domains;
    const std::string kept = uniqueDomainName("kept");
    const std::string added = uniqueDomainName("added-while-down");
    const StoredCertificate keptCertificate = domains.storeCertificate(domains.add(kept), kept);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent();
    REQUIRE(waitServed(host.haproxyPort(), kept, keptCertificate.serial).serial ==
            keptCertificate.serial);
    host.stopHaproxy();
    const StoredCertificate addedCertificate = domains.storeCertificate(domains.add(added), added);
    CHECK(waitFor(15s, [&] { return fs::exists(host.edgeDir() + "/" + added + ".pem"); }));
    CHECK(waitFor(5s, [&] {
        return host.agent()->log().find("HAProxy not updated, will retry") != std::string::npos;
    }));
    // The heartbeat does not claim what HAProxy has not got.
    host.startHaproxy();
    CHECK(waitServed(host.haproxyPort(), added, addedCertificate.serial).serial ==
          addedCertificate.serial);
    CHECK(servedCertificate(host.haproxyPort(), kept).serial == keptCertificate.serial);
    // A renewal after the restart goes through the runtime API again.
    const StoredCertificate renewed = domains.storeCertificate(
        domains.text("SELECT id FROM domains WHERE domain_name = " + dnsh::test::quoted(kept)),
        kept);
    INFO(describe(*host.agent()));
    CHECK(waitServed(host.haproxyPort(), kept, renewed.serial).serial == renewed.serial);
}

namespace {

// A batch of more than one page of names (EdgeSync's kReconcilePage, 200): apply() writes the
// pages in name order, so the first page's files are all written before any of the second's.
constexpr int kKilledBatch = 220;

}  // namespace

TEST_CASE(
    "edge: kill -9 in the middle of a batch, then a restart, ends with exactly the right "
    "files") {
    EdgeDomains domains;
    TlsHost host(domains.url());
    const std::string prefix = uniqueDomainName("killed");
    // Held mid-batch: a domain whose file the agent owns is made a FIFO, and its renewal joins
    // the batch. Writing it, the agent first reads the old file (EdgeDirectory::write), and the
    // open of a FIFO waits for a writer. Its name sorts after every "k<i>" name, so it is in the
    // batch's second page: the first page (200 domains) is written by then, whatever order
    // PostgreSQL returns a page in.
    const std::string held = std::string("z-held.").append(prefix);
    const std::string heldId = domains.add(held);
    domains.storeCertificate(heldId, held);
    REQUIRE(host.syncOnce().exitCode == 0);
    // No poll for an hour: the poll's 30 s overlap would offer the held domain again, and the
    // agent would stop at its FIFO before the batch. The batch comes by LISTEN.
    domains.run("DELETE FROM edge_agents");  // the --once run's heartbeat
    host.startAgent({{"EDGE_POLL_INTERVAL", "1h"}});
    INFO(describe(*host.agent()));
    // Its first reconcile done (the heartbeat follows it): it read the held file, and owns it.
    REQUIRE(waitFor(30s, [&] { return domains.text("SELECT count(*) FROM edge_agents") == "1"; }));
    const std::string heldFile = host.edgeDir() + "/" + held + ".pem";
    REQUIRE(fs::remove(heldFile));
    REQUIRE(::mkfifo(heldFile.c_str(), 0600) == 0);

    std::string batch = "BEGIN;";
    std::vector<std::string> ids;
    for (int i = 0; i < kKilledBatch; ++i) {
        const std::string name = numberedName("k", i, prefix);
        StoredCertificate certificate;
        ids.push_back(domains.add(name));
        batch += domains.certificateInsert(ids.back(), name, certificate);
    }
    StoredCertificate heldRenewal;
    batch += domains.certificateInsert(heldId, held, heldRenewal);
    domains.run(batch + "COMMIT;");
    // A FIFO opens for writing without blocking only once a reader has it open: the agent,
    // reaching the held domain. The write end stays open, so its read waits (no EOF).
    int heldWriter = -1;
    const bool reached = waitFor(60s, [&] {
        heldWriter = ::open(heldFile.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return heldWriter >= 0;
    });
    REQUIRE_MESSAGE(reached, "the agent never reached the held domain's file");
    int written = 0;
    for (int i = 0; i < kKilledBatch; ++i)
        written += fs::is_regular_file(host.edgeDir() + "/" + numberedName("k", i, prefix) +
                                       ".pem");
    const std::string crtList = readFile(host.edgeDir() + "/haproxy.crt-list");
    host.agent()->kill9();  // as a crash would
    ::close(heldWriter);
    MESSAGE(written << " of the batch's " << kKilledBatch + 1 << " files written at the kill");
    // Mid-batch: some files written, the held one not, nor the crt-list that ends a round.
    REQUIRE(written >= 20);
    REQUIRE(written < kKilledBatch + 1);
    CHECK(crtList.find("/k0." + prefix) == std::string::npos);
    REQUIRE(fs::remove(heldFile));
    // What a kill inside a file's write leaves: a temporary file never renamed.
    std::ofstream(host.edgeDir() + "/" + dnsh::kEdgeTempPrefix + "killed") << "partial";
    // Half of them deleted meanwhile.
    for (std::size_t i = 0; i < ids.size(); i += 2) domains.remove(ids[i]);

    // The restart: its first reconcile ends with a heartbeat.
    domains.run("DELETE FROM edge_agents");
    host.startAgent();  // the INFO above describes this one now
    REQUIRE(waitFor(60s, [&] { return domains.text("SELECT count(*) FROM edge_agents") == "1"; }));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string file =
            host.edgeDir() + "/" + numberedName("k", static_cast<int>(i), prefix) + ".pem";
        CAPTURE(file);
        CHECK(fs::exists(file) == (i % 2 == 1));
    }
    CHECK(fs::is_regular_file(heldFile));
    CHECK(readFile(heldFile).find("PRIVATE KEY") != std::string::npos);
    for (const auto& entry : fs::directory_iterator(host.edgeDir()))
        CHECK(entry.path().filename().string().rfind(dnsh::kEdgeTempPrefix, 0) != 0);
    CHECK(host.agent()->running());
}

TEST_CASE("edge: a full disk replaces no good file by a partial one") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("full");
    const std::string id = domains.add(name);
    domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    // EDGE_DIR on a small file system of its own, then filled up.
    fs::create_directories(host.edgeDir());
    REQUIRE(::mount("tmpfs", host.edgeDir().c_str(), "tmpfs", 0, "size=64k,mode=0755") == 0);
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{host.edgeDir()};
    REQUIRE(host.syncOnce().exitCode == 0);
    const std::string file = host.edgeDir() + "/" + name + ".pem";
    const std::string good = readFile(file);
    REQUIRE(good.find("PRIVATE KEY") != std::string::npos);
    {
        std::ofstream filler(host.edgeDir() + "/filler");
        const std::string block(4096, 'x');
        while (filler.write(block.data(), block.size()) && filler.flush()) {
        }
    }
    domains.storeCertificate(id, name);  // a renewal that cannot be written
    const CommandResult full = host.syncOnce();
    CHECK(full.exitCode == 1);
    CHECK_MESSAGE(full.output.find("No space left on device") != std::string::npos, full.output);
    CHECK(readFile(file) == good);
    fs::remove(host.edgeDir() + "/filler");
    CHECK(host.syncOnce().exitCode == 0);
    CHECK(readFile(file) != good);
}

TEST_CASE("edge: the agent runs as the least-privilege role of deploy/edge/role.sql") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("least");
    const StoredCertificate stored = domains.storeCertificate(domains.add(name), name);
    const CommandResult granted =
        runCommand("psql '" + domains.url() +
                   "' -v ON_ERROR_STOP=1 -q -f " DNSH_SOURCE_DIR "/deploy/edge/role.sql");
    REQUIRE_MESSAGE(granted.exitCode == 0, granted.output);
    const std::string asEdge = domains.url() + " user=dnsh_edge";
    TlsHost host(domains.url());
    const CommandResult once = host.syncOnce({{"DATABASE_URL", asEdge}});
    CHECK_MESSAGE(once.exitCode == 0, once.output);
    CHECK(fs::exists(host.edgeDir() + "/" + name + ".pem"));
    // And nothing beyond: no verification token, no account key.
    for (const std::string& sql : std::vector<std::string>{
             "SELECT verification_token FROM domains LIMIT 1",
             "SELECT key_ciphertext FROM acme_accounts LIMIT 1",
             "DELETE FROM certificates WHERE id = " + dnsh::test::quoted(stored.id)}) {
        CAPTURE(sql);
        const CommandResult refused =
            runCommand("psql '" + asEdge + "' -v ON_ERROR_STOP=1 -c \"" + sql + "\"");
        CHECK(refused.exitCode != 0);
        CHECK(refused.output.find("permission denied") != std::string::npos);
    }
}

TEST_CASE("edge: a transaction another run left open in HAProxy takes no certificate of ours") {
    EdgeDomains domains;
    const std::string left = uniqueDomainName("left-open");
    const std::string renewedName = uniqueDomainName("renewed");
    const StoredCertificate leftCertificate = domains.storeCertificate(domains.add(left), left);
    const std::string renewedId = domains.add(renewedName);
    domains.storeCertificate(renewedId, renewedName);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    // An agent killed between `set ssl cert` and `commit`: HAProxy 2.6.12 then files the next
    // `set` of any certificate into that open transaction.
    const std::string leftFile = host.edgeDir() + "/" + left + ".pem";
    dnsh::HaproxyRuntime runtime(host.socket(), host.edgeDir() + "/haproxy.crt-list");
    const std::string opened =
        runtime.command("set ssl cert " + leftFile + " <<\n" + readFile(leftFile) + "\n");
    REQUIRE_MESSAGE(opened.find("Transaction created") != std::string::npos, opened);
    host.startAgent();
    const StoredCertificate renewed = domains.storeCertificate(renewedId, renewedName);
    INFO(describe(*host.agent()));
    CHECK(waitServed(host.haproxyPort(), renewedName, renewed.serial).serial == renewed.serial);
    CHECK(servedCertificate(host.haproxyPort(), left).serial == leftCertificate.serial);
    CHECK(runtime.serialOf(leftFile) == leftCertificate.serial);
}

TEST_CASE(
    "edge: a removal HAProxy refuses is reported, and a renewal in the same batch still "
    "reaches it") {
    EdgeDomains domains;
    const std::string gone = uniqueDomainName("unremovable");
    const std::string renewedName = uniqueDomainName("renewed-beside");
    const std::string goneId = domains.add(gone);
    domains.storeCertificate(goneId, gone);
    const std::string renewedId = domains.add(renewedName);
    const StoredCertificate first = domains.storeCertificate(renewedId, renewedName);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent();
    REQUIRE(waitServed(host.haproxyPort(), renewedName, first.serial).serial == first.serial);
    // Behind the agent's back the entry becomes an empty certificate store, as a `new ssl cert`
    // whose `set` failed leaves one: HAProxy answers its `del ssl crt-list` with "Can't delete
    // the entry: certificate '<file>' is empty!".
    const std::string goneFile = host.edgeDir() + "/" + gone + ".pem";
    dnsh::HaproxyRuntime runtime(host.socket(), host.edgeDir() + "/haproxy.crt-list");
    runtime.remove(goneFile);
    const std::string emptied = runtime.command("new ssl cert " + goneFile);
    REQUIRE_MESSAGE(emptied.find("New empty certificate store") != std::string::npos, emptied);
    // The delete and a renewal in one transaction: one batch, removals first.
    StoredCertificate renewed;
    domains.run("BEGIN;" + domains.certificateInsert(renewedId, renewedName, renewed) +
                "DELETE FROM domains WHERE id = " + dnsh::test::quoted(goneId) + "; COMMIT;");
    INFO(describe(*host.agent()));
    CHECK(waitServed(host.haproxyPort(), renewedName, renewed.serial).serial == renewed.serial);
    CHECK(host.agent()->log().find("HAProxy did not remove a certificate") != std::string::npos);
    CHECK(host.agent()->log().find("edge round failed") == std::string::npos);
    CHECK(waitFor(5s, [&] { return !fs::exists(goneFile); }));
}

namespace {

// How many entries of `file` HAProxy's crt-list `list` holds (`show ssl crt-list`: one a line,
// "<file>[ [options]][ filters]").
int entriesOf(dnsh::HaproxyRuntime& runtime, const std::string& list, const std::string& file) {
    std::istringstream lines(runtime.command("show ssl crt-list " + list));
    int count = 0;
    for (std::string line; std::getline(lines, line);)
        if (line == file || line.rfind(file + " ", 0) == 0) ++count;
    return count;
}

}  // namespace

TEST_CASE(
    "edge: a file HAProxy lists twice is listed once after a full reconcile, and a deleted "
    "domain listed twice stops being served") {
    EdgeDomains domains;
    const std::string kept = uniqueDomainName("listed-twice");
    const std::string gone = uniqueDomainName("deleted-listed-twice");
    const StoredCertificate keptCertificate = domains.storeCertificate(domains.add(kept), kept);
    const std::string goneId = domains.add(gone);
    const StoredCertificate goneCertificate = domains.storeCertificate(goneId, gone);
    TlsHost host(domains.url());
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    REQUIRE(waitServed(host.haproxyPort(), gone, goneCertificate.serial).serial ==
            goneCertificate.serial);
    // What an agent that read a dropped `show ssl crt-list` as an empty list did: `add ssl
    // crt-list` of files listed already (HAProxy refuses that for a directory only).
    const std::string list = host.edgeDir() + "/haproxy.crt-list";
    const std::string keptFile = host.edgeDir() + "/" + kept + ".pem";
    const std::string goneFile = host.edgeDir() + "/" + gone + ".pem";
    dnsh::HaproxyRuntime runtime(host.socket(), list);
    for (const std::string& file : {keptFile, goneFile}) {
        const std::string added = runtime.command("add ssl crt-list " + list + " " + file);
        REQUIRE_MESSAGE(added.find("Success!") != std::string::npos, added);
        REQUIRE(entriesOf(runtime, list, file) == 2);
    }
    // `del ssl crt-list` by name refuses a file listed twice: the compare goes by line number.
    domains.remove(goneId);
    const CommandResult reconciled = host.syncOnce();
    INFO(reconciled.output);
    CHECK(reconciled.exitCode == 0);
    CHECK(reconciled.output.find("HAProxy did not remove") == std::string::npos);
    CHECK(entriesOf(runtime, list, goneFile) == 0);
    CHECK(entriesOf(runtime, list, keptFile) == 1);
    const ServedCertificate afterDelete = servedCertificate(host.haproxyPort(), gone);
    CHECK_MESSAGE(afterDelete.subject.find("edge-default.invalid") != std::string::npos,
                  afterDelete.output);
    CHECK(servedCertificate(host.haproxyPort(), kept).serial == keptCertificate.serial);
}

TEST_CASE("edge: a reload a crash cut off after the renames runs when the agent starts again") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("reload-due");
    domains.storeCertificate(domains.add(name), name);
    TlsHost host(domains.url());
    // The files renamed into place, then the agent gone before EDGE_RELOAD_COMMAND ran: a run
    // without the command leaves EDGE_DIR just so, and the next finds nothing to change.
    REQUIRE(host.syncOnce().exitCode == 0);
    TempDir hook;
    const std::string reloaded = hook.path() + "/reloaded";
    host.startAgent({{"EDGE_RELOAD_COMMAND", "touch " + reloaded}});
    INFO(describe(*host.agent()));
    CHECK(waitFor(10s, [&] { return fs::exists(reloaded); }));
    CHECK(host.agent()->log().find("\"edge files updated\"") == std::string::npos);
}

namespace {

// Lines in `path`: one per run of a counting EDGE_RELOAD_COMMAND (0 before the first).
long lineCount(const std::string& path) {
    const std::string text = fs::exists(path) ? readFile(path) : "";
    return static_cast<long>(std::count(text.begin(), text.end(), '\n'));
}

// A reload command that appends the time it ran to `path`, as for nginx (EDGE_RELOAD_ON=map).
std::map<std::string, std::string> countingReloads(const std::string& path) {
    return {{"EDGE_RELOAD_COMMAND", "date +%s.%N >> " + path}, {"EDGE_RELOAD_ON", "map"}};
}

// The times countingReloads wrote, in seconds.
std::vector<double> reloadTimes(const std::string& path) {
    std::vector<double> times;
    std::istringstream lines(readFile(path));
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) times.push_back(std::stod(line));
    return times;
}

// Whether the process is gone (a zombie counts: it runs nothing).
bool processGone(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const std::size_t end = line.rfind(") ");
    return end == std::string::npos || end + 2 >= line.size() || line[end + 2] == 'Z';
}

// The serial of the certificate `file` holds ("" while there is none).
std::string servedSerial(const std::string& file) {
    return dnsh::certificateSerialHex(readFile(file));
}

}  // namespace

TEST_CASE(
    "edge: --once runs EDGE_RELOAD_COMMAND only when the wildcard map changed since the last "
    "reload") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("once-reload");
    const std::string id = domains.add(name);
    domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    TempDir hook;
    const std::string reloads = hook.path() + "/reloads";
    const auto counting = countingReloads(reloads);
    REQUIRE(host.syncOnce(counting).exitCode == 0);
    CHECK(lineCount(reloads) == 1);
    // A timer's next runs with nothing changed: no reload (before, one every run).
    REQUIRE(host.syncOnce(counting).exitCode == 0);
    REQUIRE(host.syncOnce(counting).exitCode == 0);
    CHECK(lineCount(reloads) == 1);
    // A renewal: nginx opens the new file at its next handshake, nothing to reload.
    domains.storeCertificate(id, name);
    const CommandResult renewal = host.syncOnce(counting);
    INFO(renewal.output);
    CHECK(renewal.output.find("\"written\":1") != std::string::npos);
    CHECK(lineCount(reloads) == 1);
    // A new wildcard (the map changes) written by a run whose command failed: the next run
    // reloads although it finds the files as they should be, and the one after it does not.
    const std::string wildcard = "*." + uniqueDomainName("once-reload-wild");
    domains.storeCertificate(domains.add(wildcard), wildcard);
    const CommandResult failed = host.syncOnce({{"EDGE_RELOAD_COMMAND", "false"}});
    INFO(failed.output);
    CHECK(failed.output.find("\"written\":1") != std::string::npos);
    REQUIRE(host.syncOnce(counting).exitCode == 0);
    CHECK(lineCount(reloads) == 2);
    REQUIRE(host.syncOnce(counting).exitCode == 0);
    CHECK(lineCount(reloads) == 2);
    // EDGE_RELOAD_ON=any (the default), for a terminator that reads its files only when it
    // reloads: the renewal runs it, a run with nothing changed does not.
    auto everyChange = counting;
    everyChange["EDGE_RELOAD_ON"] = "any";
    domains.storeCertificate(id, name);
    REQUIRE(host.syncOnce(everyChange).exitCode == 0);
    CHECK(lineCount(reloads) == 3);
    REQUIRE(host.syncOnce(everyChange).exitCode == 0);
    CHECK(lineCount(reloads) == 3);
}

TEST_CASE("edge: 30 renewals a few hundred ms apart run no EDGE_RELOAD_COMMAND with EDGE_RELOAD_ON=map") {
    // A mass renewal stores about 70 a second: a reload per batch was a reload storm on nginx,
    // which needs none for a renewal.
    EdgeDomains domains;
    const std::string parent = uniqueDomainName("reload-storm");
    std::vector<std::string> names;
    std::vector<std::string> ids;
    std::string batch = "BEGIN;";
    for (int i = 0; i < 30; ++i) {
        names.push_back(numberedName("r", i, parent));
        ids.push_back(domains.add(names.back()));
        StoredCertificate first;
        batch += domains.certificateInsert(ids.back(), names.back(), first);
    }
    domains.run(batch + "COMMIT;");
    TlsHost host(domains.url());
    TempDir hook;
    const std::string reloads = hook.path() + "/reloads";
    REQUIRE(host.syncOnce(countingReloads(reloads)).exitCode == 0);
    REQUIRE(lineCount(reloads) == 1);  // the map was new
    host.startAgent(countingReloads(reloads));
    INFO(describe(*host.agent()));
    StoredCertificate last;
    for (std::size_t i = 0; i < names.size(); ++i) {
        last = domains.storeCertificate(ids[i], names[i]);  // a transaction of its own
        std::this_thread::sleep_for(300ms);
    }
    const std::string lastFile = host.edgeDir() + "/" + names.back() + ".pem";
    REQUIRE(waitFor(20s, [&] { return servedSerial(lastFile) == last.serial; }));
    std::this_thread::sleep_for(2s);  // a reload the last batch started has ended
    // With EDGE_RELOAD_ON=map a renewal never needs one (before, a reload per batch).
    CHECK(lineCount(reloads) == 1);
}

TEST_CASE(
    "edge: new wildcards one by one reload at most once per EDGE_RELOAD_MIN_INTERVAL, the last "
    "one included") {
    EdgeDomains domains;
    const std::string parent = uniqueDomainName("wildcard-storm");
    TlsHost host(domains.url());
    TempDir hook;
    const std::string reloads = hook.path() + "/reloads";
    REQUIRE(host.syncOnce(countingReloads(reloads)).exitCode == 0);
    REQUIRE(lineCount(reloads) == 1);  // the (empty) map was new
    auto settings = countingReloads(reloads);
    settings["EDGE_RELOAD_MIN_INTERVAL"] = "2s";
    host.startAgent(settings);
    INFO(describe(*host.agent()));
    std::string lastWildcard;
    for (int i = 0; i < 12; ++i) {  // each changes the map: a reload per batch before
        lastWildcard = "*." + numberedName("w", i, parent);
        domains.storeCertificate(domains.add(lastWildcard), lastWildcard);
        std::this_thread::sleep_for(300ms);
    }
    const std::string map = host.edgeDir() + "/nginx-wildcards.map";
    REQUIRE(waitFor(15s, [&] { return readFile(map).find(lastWildcard) != std::string::npos; }));
    // The map's last change is reloaded too, within the interval: the marker goes.
    CHECK(waitFor(10s, [&] { return !fs::exists(host.edgeDir() + "/.edge-sync.reload-due"); }));
    // At least one reload by the agent, each at least the interval after the one before (the
    // count depends on how long the 12 stores took; before, one per batch).
    const std::vector<double> times = reloadTimes(reloads);
    REQUIRE(times.size() >= 2);
    for (std::size_t i = 2; i < times.size(); ++i) {
        INFO("reload " << i << " after " << times[i] - times[i - 1] << " s");
        CHECK(times[i] - times[i - 1] >= 1.9);
    }
}

TEST_CASE("edge: a hung EDGE_RELOAD_COMMAND is killed at EDGE_RELOAD_TIMEOUT, deliveries go on") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("hung-reload");
    const std::string id = domains.add(name);
    domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    // A run without the command leaves the reload due: the agent's first round runs it.
    REQUIRE(host.syncOnce().exitCode == 0);
    TempDir hook;
    const std::string pidFile = hook.path() + "/sleep.pid";
    // The shell waits for a child of its own: killing the shell alone would leave that running.
    host.startAgent({{"EDGE_RELOAD_COMMAND", "sleep 60 & echo $! > " + pidFile + "; wait"},
                     {"EDGE_RELOAD_TIMEOUT", "1s"}});
    INFO(describe(*host.agent()));
    REQUIRE(waitFor(10s, [&] { return readFile(pidFile).find('\n') != std::string::npos; }));
    const int sleepPid = std::stoi(readFile(pidFile));
    // Stored while the command hangs: delivered all the same (before, 60 s later).
    const StoredCertificate renewed = domains.storeCertificate(id, name);
    const std::string file = host.edgeDir() + "/" + name + ".pem";
    CHECK(waitFor(15s, [&] { return servedSerial(file) == renewed.serial; }));
    CHECK(waitFor(5s, [&] {
        return host.agent()->log().find("EDGE_RELOAD_COMMAND timed out, killed") !=
               std::string::npos;
    }));
    CHECK(waitFor(5s, [&] { return processGone(sleepPid); }));  // its whole process group
    CHECK(host.agent()->running());
    CHECK(fs::exists(host.edgeDir() + "/.edge-sync.reload-due"));  // still due
}

TEST_CASE("edge: EDGE_RELOAD_COMMAND inherits none of the secrets of the hosts' one env file") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("reload-env");
    domains.storeCertificate(domains.add(name), name);
    TlsHost host(domains.url());
    TempDir hook;
    const std::string seen = hook.path() + "/environment";
    // As /etc/dns-handling/env gives them to every host's units.
    const std::map<std::string, std::string> secrets{
        {"AUTH_TOKEN", "auth-" + dnsh::randomHex(24)},
        {"WEBHOOK_URL", "https://hooks.test/h?token=url-" + dnsh::randomHex(24)},
        {"WEBHOOK_SECRET", "whsec_" + dnsh::randomHex(24)},
        {"DNS_UPDATE_TSIG", "hmac-sha256:k:" + dnsh::randomHex(24)},
        {"ACME_EAB_KID", "kid-" + dnsh::randomHex(24)},
        {"ACME_EAB_HMAC_KEY", dnsh::randomHex(24)}};
    std::map<std::string, std::string> environment = secrets;
    environment["EDGE_RELOAD_COMMAND"] = "env > " + seen;
    const CommandResult run = host.syncOnce(environment);
    INFO(run.output);
    REQUIRE(run.exitCode == 0);
    const std::string inherited = readFile(seen);
    CHECK(inherited.find("EDGE_DIR=") != std::string::npos);  // the rest is passed on
    CHECK(inherited.find(domains.url()) == std::string::npos);  // DATABASE_URL
    for (const auto& [variable, value] : secrets) {
        CAPTURE(variable);
        CHECK(inherited.find(value) == std::string::npos);
    }
}

TEST_CASE("edge: a KEK added while the agent runs opens the keys sealed under it, no restart") {
    EdgeDomains domains;
    const std::string name = uniqueDomainName("rotated");
    const std::string id = domains.add(name);
    domains.storeCertificate(id, name);
    TlsHost host(domains.url());
    TempDir keys;
    const std::string next = keys.path() + "/next.kek";  // not there yet: the rotation adds it
    REQUIRE(host.syncOnce().exitCode == 0);
    host.startHaproxy();
    host.startAgent(
        {{"KEY_ENCRYPTION_KEY_FILE", next + "," + requireEnv("KEY_ENCRYPTION_KEY_FILE")}});
    // The operator's rotation: the new KEK first, then the scheduler seals under it. Written
    // beside and renamed into place, as the README's rotation says: the agent must never read a
    // half-written key (written in place, it read it empty once and logged the failure).
    REQUIRE(runCommand("umask 077; openssl rand -hex 32 > " + next + ".tmp && mv " + next +
                       ".tmp " + next)
                .exitCode == 0);
    StoredCertificate sealedUnderNext;
    domains.run(domains.certificateInsert(id, name, sealedUnderNext, "", next));
    INFO(describe(*host.agent()));
    CHECK(waitServed(host.haproxyPort(), name, sealedUnderNext.serial).serial ==
          sealedUnderNext.serial);
    CHECK(host.agent()->log().find("certificate not applied") == std::string::npos);
}
