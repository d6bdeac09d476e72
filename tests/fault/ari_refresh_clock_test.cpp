// dnsh-admin ari-refresh tells "due now" from "scheduled" by the database's clock, the one the
// scheduler's renewal scan reads (renew_at <= now()), not by the clock of the host it runs on.
// dnsh-admin runs with its wall clock 3 hours ahead under libfaketime (Debian's libfaketime, as
// tests/fault/tsig_badtime_test.cpp's knotd), against the stand-in CA
// tests/support/stalled_ca.py --renewal-info window: a window from one to two hours ahead.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

const std::string kLibfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

}  // namespace

TEST_CASE("ari: ari-refresh on a host whose clock is 3 hours ahead says a renewal the CA's window "
          "puts an hour or two away is scheduled, not due now") {
    REQUIRE_MESSAGE(std::filesystem::exists(kLibfaketime),
                    kLibfaketime << " is missing: deploy/install-deps installs it (the Debian "
                                    "package libfaketime)");
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "window"});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    const TestDomain domain = verifiedDomain("ari-clock", leftovers);
    const auto scheduler = startIssuance(domain, env);
    requireAllActive({domain}, 90s);
    CHECK(scheduler->terminate() == 0);

    // The wall clock 180 minutes ahead, the monotonic clock left real (tsig_badtime_test says
    // why); timeout(1) itself outside libfaketime.
    std::string command = "timeout 120 env LOG_LEVEL=error LD_PRELOAD='" + kLibfaketime +
                          "' FAKETIME='+180m' FAKETIME_DONT_FAKE_MONOTONIC=1 ";
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    const CommandResult refreshed =
        runCommand(command + requireEnv("DNSH_ADMIN_BIN") + " ari-refresh " + domain.id +
                   " --json");
    INFO(refreshed.output);
    REQUIRE(refreshed.exitCode == 0);
    Poco::JSON::Array::Ptr items;
    try {
        items = Poco::JSON::Parser().parse(refreshed.output).extract<Poco::JSON::Array::Ptr>();
    } catch (const std::exception&) {
        items = nullptr;
    }
    REQUIRE_MESSAGE(!items.isNull(), "not a JSON array");
    REQUIRE(items->size() == 1);
    // renew_at is in the CA's window, ahead by the database's clock...
    const std::string certificate = " FROM certificates WHERE superseded_at IS NULL AND "
                                    "domain_id = " + quoted(domain.id);
    CHECK(scalar("SELECT (renew_at > now() + interval '50 minutes')::text" + certificate) ==
          "true");
    // ...and past by the admin host's. Before: "due_now", "starts within a second", while the
    // scheduler's scan would not start it for an hour or more.
    CHECK(items->getObject(0)->getValue<std::string>("outcome") == "scheduled");
}
