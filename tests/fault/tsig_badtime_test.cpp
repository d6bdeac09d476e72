// A delegation zone's primary whose clock is off by more than the TSIG fudge (300 s) refuses an
// update with NOTAUTH and TSIG error BADTIME, and signs that answer (RFC 8945 §5.2.3), so ldns
// passes it on as an answer, not as a signature failure: DnsUpdater must point at the clocks (NTP),
// not at DNS_UPDATE_TSIG as for the unsigned BADSIG/BADKEY answer (tests/e2e/delegation_test.cpp).
// The primary is a Knot of this case's own, configured from the stack's template
// (deploy/stack/knot.conf.in) with the stack's TSIG key, its clock 15 minutes ahead under
// libfaketime (Debian's libfaketime, installed by deploy/install-deps).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "config/config.hpp"
#include "config/server_list.hpp"
#include "crypto/random.hpp"
#include "dns/dns_update.hpp"
#include "dns/resolver.hpp"
#include "support/child_process.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"
#include "support/tls_host.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

const std::string kLibfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const std::string kZone = "badtime.test";

bool txtAt(const dnsh::DnsServer& server, const dnsh::DnsName& name) {
    for (const auto& record :
         dnsh::queryServer(&server, name, dnsh::RecordType::Txt, false, 2s).answer)
        if (record.type == dnsh::RecordType::Txt) return true;
    return false;
}

}  // namespace

TEST_CASE("DNS update: a primary whose clock is 15 minutes ahead answers a signed TSIG BADTIME, "
          "reported as dns_update_refused naming the clocks and NTP, not our key") {
    REQUIRE_MESSAGE(std::filesystem::exists(kLibfaketime),
                    kLibfaketime << " is missing: deploy/install-deps installs it (the Debian "
                                    "package libfaketime)");
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    REQUIRE(key.algorithm == "hmac-sha256");  // the only algorithm knot.conf.in names

    TempDir dir;
    for (const char* sub : {"zones", "db/journal", "db/timers"})
        std::filesystem::create_directories(dir.path() + "/" + sub);
    // As dnsh_start_knot_zones writes a zone: apex records only, TTL 1.
    dir.write("zones/" + kZone + ".zone", "$ORIGIN " + kZone +
                                              ".\n$TTL 1\n@    SOA ns1 hostmaster 1 60 10 3600 0\n"
                                              "@    NS  ns1\nns1  A   127.0.0.1\n");
    const int port = freeLoopbackPort();
    const std::string config = dir.write(
        "knot.conf",
        fromSourceTemplate("deploy/stack/knot.conf.in",
                           {{"DIR", dir.path()},
                            {"LISTEN", "127.0.0.1@" + std::to_string(port)},
                            {"KEY_NAME", key.name},
                            {"KEY_SECRET", key.secret},
                            {"ZONES", "\n  - domain: " + kZone + ".\n    file: \"" + kZone +
                                          ".zone\""}}));
    // The wall clock 15 minutes ahead (900 s, three times the fudge ldns signs with); the
    // monotonic clock left real (FAKETIME_DONT_FAKE_MONOTONIC): knotd's threads time their waits
    // on it, and timed waits on a shifted monotonic clock are what libfaketime's README says
    // hang multi-threaded programs (the JVM) without it.
    ChildProcess knot("/usr/sbin/knotd", {"-c", config},
                      {{"LD_PRELOAD", kLibfaketime},
                       {"FAKETIME", "+15m"},
                       {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}},
                      "knotd-badtime");
    const dnsh::DnsServer primary{"127.0.0.1", static_cast<std::uint16_t>(port)};
    const bool answering = waitFor(10s, [&] {
        return !knot.running() ||
               dnsh::queryServer(&primary, dnsh::DnsName(kZone), dnsh::RecordType::Soa, false,
                                 500ms)
                       .outcome == dnsh::LookupOutcome::Found;
    });
    REQUIRE_MESSAGE((answering && knot.running()), "knotd under libfaketime does not answer\n"
                                                       << describe(knot));

    const dnsh::DnsUpdater updater(dnsh::DnsName(kZone), primary, key, 2s);
    const dnsh::DnsName name("_acme-challenge.skew" + dnsh::randomHex(4) + "." + kZone);
    const dnsh::UpdateResult added = updater.addTxt(name, "badtime-value");
    CAPTURE(added.detail);
    REQUIRE_MESSAGE(added.failure.has_value(),
                    "the primary took the update: its clock is not ahead\n" << describe(knot));
    CHECK(std::string(dnsh::toString(*added.failure)) == "dns_update_refused");
    // The signed answer arrived (NOTAUTH read from it), not ldns's verification failure.
    CHECK(added.detail.find("NOTAUTH") != std::string::npos);
    CHECK(added.detail.find("BADTIME") != std::string::npos);
    CHECK(added.detail.find("clocks differ") != std::string::npos);
    CHECK(added.detail.find("NTP") != std::string::npos);
    // Not the advice for an unsigned BADSIG/BADKEY answer: the key is the primary's own.
    CHECK(added.detail.find("DNS_UPDATE_TSIG") == std::string::npos);
    CHECK_FALSE(txtAt(primary, name));
    CHECK(knot.running());
}
