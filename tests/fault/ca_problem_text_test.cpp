// A CA's problem text is any bytes up to the 1 MiB an answer may be (RFC 8555 §6.7's detail,
// subproblems §6.7.1), against the stand-in CA tests/support/stalled_ca.py --noisy-problem: about
// 900 KiB of terminal escapes and line breaks. What the service keeps of it is printable and
// bounded (acme/problem.hpp): issue-certificate's 502, the domain view and the stored errors stay
// small, and a thousand subproblems are ten log lines and a count.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

HttpRequest issueRequest(const TestDomain& domain) {
    return {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}};
}

// Nothing a terminal or a support tool would act on: printable ASCII only.
bool printable(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t found = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++found;
    return found;
}

// The stand-in's noise as the service shows it: ESC [2J CR LF, each control byte as \DDD.
const std::string kShownNoise = "\\027[2J\\013\\010";

}  // namespace

TEST_CASE("CA problem text: a newOrder refusal of 900 KiB of control bytes and 1000 subproblems "
          "is a small, printable 502 and ten log lines") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--noisy-problem", "new-order"});
    const TestDomain domain = verifiedDomain("ca-problem-text", leftovers);
    ApiServer api("ca-problem-text", {{"ACME_DIRECTORY", ca.directory()}});
    const HttpResult refused = send(api.baseUrl(), issueRequest(domain));
    INFO(refused.status << " " << refused.body.substr(0, 2000));
    REQUIRE(refused.status == 502);
    // Before: the whole detail, about 700 KiB of JSON, terminal escapes included.
    CHECK(refused.body.size() < 4096);
    const std::string error = refused.jsonString("error");
    CHECK(error.rfind("ACME CA refused: " + kShownNoise, 0) == 0);
    CHECK(printable(error));
    CHECK(get("/domains/" + domain.id).jsonString("status") == "verified");

    // Before: one line per subproblem, a thousand, and the whole detail on the failure's line.
    const auto logged = [&] {
        return readFile(api.handlersLog()).find("\"acme subproblems not logged\"") !=
               std::string::npos;
    };
    CHECK(waitFor(5s, logged));
    const std::string log = readFile(api.handlersLog());
    CHECK(occurrences(log, "\"acme subproblem\"") == 10);
    CHECK(log.find("\"count\":990") != std::string::npos);
    CHECK(log.size() < 64 * 1024);
}

TEST_CASE("CA problem text: an authorization the CA fails with 900 KiB of control bytes leaves a "
          "small, printable domain view and stored error") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--noisy-problem", "authorization"});
    const TestDomain domain = verifiedDomain("ca-problem-text-authz", leftovers);
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "1s"}};
    std::unique_ptr<SchedulerProcess> scheduler;
    {
        ApiServer api("ca-problem-text", env);
        const HttpResult started = send(api.baseUrl(), issueRequest(domain));
        REQUIRE_MESSAGE(started.status == 202, started.body);
        publish(domain, started.jsonString("expected_txt_value"));
        scheduler = startScheduler(env);
    }
    const std::string status = "SELECT status FROM domains WHERE id = " + quoted(domain.id);
    REQUIRE_MESSAGE(waitFor(30s, [&] { return scalar(status) == "failed"; }),
                    describe(ca.process()) << "\n" << describe(*scheduler));

    // Before: the view carried the whole detail, about 700 KiB (and so did every list page and
    // webhook payload with this domain).
    const HttpResult shown = get("/domains/" + domain.id);
    INFO(shown.body.substr(0, 2000));
    CHECK(shown.body.size() < 8 * 1024);
    CHECK(shown.jsonString("error_code") == "ca_invalid");
    const std::string error = shown.jsonString("error");
    CHECK(error.find("the CA rejected the dns-01 challenge: " + kShownNoise) !=
          std::string::npos);
    CHECK(printable(error));
    CHECK(error.size() <= 1024);
    CHECK(count("SELECT max(octet_length(error)) FROM acme_orders WHERE domain_id = " +
                quoted(domain.id)) <= 1024);
    CHECK(count("SELECT octet_length(error) FROM domains WHERE id = " + quoted(domain.id)) <=
          1024);
    CHECK(scheduler->terminate() == 0);
}
