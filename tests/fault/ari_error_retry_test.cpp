// A renewalInfo request the CA fails (RFC 9773 §4.3.3) is asked again as the kind of error asks:
// a 503 with Retry-After: 60 (a CA overloaded during a mass revocation) a minute later, a 503
// without one five minutes later, and only a usable answer's Retry-After waits hours. Before,
// every error waited the 6 hours of a long-term error (at most ARI_MAX_WAIT): a quarter of a
// 24-hour revocation deadline. Against the stand-in CA tests/support/stalled_ca.py
// --renewal-info (Pebble's renewalInfo cannot be made to fail), with the test stack's
// ARI_MAX_WAIT left at its 24 hours; the scheduler issues, then dnsh-admin ari-refresh asks.
// And a CA whose directory stops answering after it issued (--stall-directory-when): ari-refresh
// says it is unreachable (not that it offers no renewalInfo), and --all asks it once, not once
// per certificate with a timeout each. And an ari-refresh --all --json that stops part way (a
// signal, a database error) still prints, as a valid JSON array, the certificates it asked; one
// whose stdout reader went away (`| head -1`: EPIPE) goes on to the end, storing every answer.
// And one whose answers a full disk refuses stops at the first, asking the CA nothing more; one
// whose table another transaction holds stops after three answers in a row not stored.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "acme/ari.hpp"
#include "support/api_server.hpp"
#include "support/child_process.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/held_rows.hpp"
#include "support/http_client.hpp"
#include "support/reader_gone.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// issue-certificate through an API server pointed at the CA, the value published, and a
// scheduler taking the orders on until the domains are active; stopped then, so that nothing
// but the case asks the CA's renewalInfo afterwards.
void issueAndStop(const std::vector<TestDomain>& domains, const Env& env) {
    {
        ApiServer api("ari-error", env);
        for (const auto& domain : domains) {
            HttpRequest issue;
            issue.method = "POST";
            issue.path = "/domains/" + domain.id + "/issue-certificate";
            const HttpResult started = send(api.baseUrl(), issue);
            REQUIRE_MESSAGE(started.status == 202, started.body);
            publish(domain, started.jsonString("expected_txt_value"));
        }
    }
    const auto scheduler = startScheduler(env);
    requireAllActive(domains, 90s);
    CHECK(scheduler->terminate() == 0);
}

// Whole seconds from now to the certificate's next renewalInfo fetch (-1000000: none set).
long long secondsToNextFetch(const std::string& certificateId) {
    return count("SELECT coalesce(floor(extract(epoch FROM ari_next_fetch_at - now())), "
                 "-1000000)::bigint FROM certificates WHERE id = " +
                 quoted(certificateId));
}

// dnsh-admin ari-refresh ARGUMENTS, given up on after two minutes (a CA that never answers
// costs ACME_SCHEDULER_TIMEOUT per request). With `errors`, its stderr goes to that file and
// the output is its stdout alone.
CommandResult ariRefresh(const std::string& arguments, const Env& env,
                         const std::string& errors = "") {
    std::string command;
    for (const auto& [name, value] : env) command += name + "='" + value + "' ";
    command += "timeout 120 ";
    command += requireEnv("DNSH_ADMIN_BIN");
    command += " ari-refresh ";
    command += arguments;
    if (errors.empty()) return runCommand(command);
    return runCommand("{ " + command + " 2>'" + errors + "'; }");
}

// The items of ari-refresh --json (run with LOG_LEVEL=error: runCommand also reads stderr).
Poco::JSON::Array::Ptr jsonItems(const std::string& output) {
    Poco::JSON::Array::Ptr items;
    try {
        items = Poco::JSON::Parser().parse(output).extract<Poco::JSON::Array::Ptr>();
    } catch (const std::exception&) {
        items = nullptr;
    }
    REQUIRE_MESSAGE(!items.isNull(), "not a JSON array: '" << output << "'");
    return items;
}

Poco::JSON::Array::Ptr jsonItems(const CommandResult& result) {
    return jsonItems(result.output);
}

// `howMany` domains with a certificate from `ca`, in the order ari-refresh --all asks them (by
// id).
std::vector<TestDomain> issuedDomains(const StalledCa& ca, const std::string& prefix,
                                      Leftovers& leftovers, int howMany) {
    std::vector<TestDomain> domains;
    for (int i = 0; i < howMany; ++i) domains.push_back(verifiedDomain(prefix, leftovers));
    issueAndStop(domains, Env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}});
    std::sort(domains.begin(), domains.end(),
              [](const TestDomain& a, const TestDomain& b) { return a.id < b.id; });
    return domains;
}

std::vector<TestDomain> threeIssued(const StalledCa& ca, const std::string& prefix,
                                    Leftovers& leftovers) {
    return issuedDomains(ca, prefix, leftovers, 3);
}

// The path of the CA's renewalInfo about the domain's current certificate (RFC 9773 §4.1).
std::string renewalInfoPath(const TestDomain& domain) {
    return "/renewal-info/" +
           dnsh::acme::ariCertId(scalar("SELECT certificate_pem FROM certificates WHERE "
                                        "superseded_at IS NULL AND domain_id = " +
                                        quoted(domain.id)));
}

// What ari-refresh says of a certificate at a CA whose directory request timed out.
std::string unreachableDetail(const StalledCa& ca) {
    std::string detail = "the CA at ";
    detail += ca.directory();
    detail += " is unreachable (temporary error)";
    return detail;
}

// A test-only trigger BEFORE UPDATE ON certificates running `function` (created by the case),
// both dropped when it ends.
struct CertificateUpdateTrigger {
    std::string function;
    CertificateUpdateTrigger(std::string name, const std::string& plpgsqlBody)
        : function(std::move(name)) {
        execute("CREATE FUNCTION " + function +
                "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " + plpgsqlBody +
                " RETURN NEW; END $$; CREATE TRIGGER " + function +
                " BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION " + function +
                "()");
    }
    ~CertificateUpdateTrigger() {
        try {
            execute("DROP TRIGGER IF EXISTS " + function + " ON certificates; " +
                    "DROP FUNCTION IF EXISTS " + function + "()");
        } catch (...) {
        }
    }
    CertificateUpdateTrigger(const CertificateUpdateTrigger&) = delete;
    CertificateUpdateTrigger& operator=(const CertificateUpdateTrigger&) = delete;
};

}  // namespace

TEST_CASE("ari: a renewalInfo answered 503 is asked again as its Retry-After says, or in five "
          "minutes, not after the six hours of a long-term error (RFC 9773 §4.3.3)") {
    Leftovers leftovers;
    // The first two renewalInfo requests get 503 with Retry-After: 60, the third 503 without
    // one, then a window an hour ahead with Retry-After: 21600.
    StalledCa ca({"--stall", "none", "--renewal-info", "503:60,503:60,503,window"});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    const TestDomain domain = verifiedDomain("ari-error", leftovers);
    issueAndStop({domain}, env);
    const std::string certificate = scalar(
        "SELECT id FROM certificates WHERE superseded_at IS NULL AND domain_id = " +
        quoted(domain.id));
    // The stand-in answers each certificate's requests in turn; this one's are counted.
    const std::string renewalInfo =
        "/renewal-info/" +
        dnsh::acme::ariCertId(scalar("SELECT certificate_pem FROM certificates WHERE id = " +
                                     quoted(certificate)));

    // Asked once as the certificate was stored: the 503's minute, not 6 hours.
    REQUIRE(ca.requests("GET", renewalInfo) == 1);
    CHECK(secondsToNextFetch(certificate) <= 120);

    // dnsh-admin ari-refresh during the outage: not usable (exit 69), asked again in a minute.
    const CommandResult overloaded = ariRefresh(domain.id, env);
    CHECK_MESSAGE(overloaded.exitCode == 69, overloaded.output);
    CHECK(overloaded.output.find("not usable") != std::string::npos);
    REQUIRE(ca.requests("GET", renewalInfo) == 2);
    const long long afterRetryAfter = secondsToNextFetch(certificate);
    CHECK(afterRetryAfter >= 30);
    CHECK(afterRetryAfter <= 120);

    // A 503 without Retry-After: the short backoff, five minutes.
    const CommandResult silent = ariRefresh(domain.id, env);
    CHECK_MESSAGE(silent.exitCode == 69, silent.output);
    REQUIRE(ca.requests("GET", renewalInfo) == 3);
    const long long afterBackoff = secondsToNextFetch(certificate);
    CHECK(afterBackoff >= 240);
    CHECK(afterBackoff <= 300);

    // The CA is back: its window is used and its Retry-After (6 hours) kept, as before.
    const CommandResult usable = ariRefresh(domain.id, env);
    CHECK_MESSAGE(usable.exitCode == 0, usable.output);
    CHECK(usable.output.find("renews at") != std::string::npos);
    REQUIRE(ca.requests("GET", renewalInfo) == 4);
    const long long afterWindow = secondsToNextFetch(certificate);
    CHECK(afterWindow >= 6 * 3600 - 120);
    CHECK(afterWindow <= 6 * 3600);
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at BETWEEN now() + interval "
                "'55 minutes' AND now() + interval '2 hours' AND id = " +
                quoted(certificate)) == 1);
}

TEST_CASE("ari: ari-refresh reports a CA whose directory does not answer as not usable and "
          "unreachable, not as a CA that offers no renewalInfo") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string down = scratch.path() + "/down";
    StalledCa ca({"--stall", "none", "--renewal-info", "window", "--stall-directory-when", down});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    const TestDomain domain = verifiedDomain("ari-down", leftovers);
    issueAndStop({domain}, env);
    const int directoryReads = ca.requests("GET", "/dir");
    const int renewalInfoReads = ca.requests("GET", "/renewal-info/");

    // The CA goes down: its directory request is read and never answered.
    scratch.write("down", "");
    Env admin = env;
    admin["ACME_SCHEDULER_TIMEOUT"] = "2s";
    admin["LOG_LEVEL"] = "error";
    const CommandResult refreshed = ariRefresh(domain.id + " --json", admin);
    CHECK_MESSAGE(refreshed.exitCode == 69, refreshed.output);
    const auto items = jsonItems(refreshed);
    REQUIRE(items->size() == 1);
    const auto item = items->getObject(0);
    CHECK(item->getValue<std::string>("domain_id") == domain.id);
    // Before: not_offered, "the CA offers no renewalInfo", no detail.
    CHECK_MESSAGE(item->getValue<std::string>("outcome") == "not_usable", refreshed.output);
    const std::string detail = item->optValue<std::string>("detail", "");
    CHECK_MESSAGE(detail.rfind(unreachableDetail(ca), 0) == 0, detail);
    CHECK(ca.requests("GET", "/dir") == directoryReads + 1);
    CHECK(ca.requests("GET", "/renewal-info/") == renewalInfoReads);
}

TEST_CASE("ari: ari-refresh --all asks a CA whose directory does not answer once, not once per "
          "certificate, and reports each of its certificates as not usable") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string down = scratch.path() + "/down";
    StalledCa ca({"--stall", "none", "--renewal-info", "window", "--stall-directory-when", down});
    INFO(describe(ca.process()));
    const Env env{{"ACME_DIRECTORY", ca.directory()}, {"POLL_INTERVAL", "2s"}};
    std::vector<TestDomain> domains;
    for (int i = 0; i < 3; ++i) domains.push_back(verifiedDomain("ari-down-all", leftovers));
    issueAndStop(domains, env);
    const int directoryReads = ca.requests("GET", "/dir");
    const int renewalInfoReads = ca.requests("GET", "/renewal-info/");

    scratch.write("down", "");
    Env admin = env;
    admin["ACME_SCHEDULER_TIMEOUT"] = "2s";
    admin["LOG_LEVEL"] = "error";
    const CommandResult all = ariRefresh("--all --json", admin);
    CHECK_MESSAGE(all.exitCode == 69, all.output);
    // One directory request, one timeout, for the run. Before: one per certificate, each
    // waiting out its timeout.
    CHECK_MESSAGE(ca.requests("GET", "/dir") == directoryReads + 1, all.output);
    CHECK(ca.requests("GET", "/renewal-info/") == renewalInfoReads);

    const auto items = jsonItems(all);
    std::map<std::string, Poco::JSON::Object::Ptr> byDomain;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto item = items->getObject(static_cast<unsigned>(i));
        byDomain[item->getValue<std::string>("domain_id")] = item;
    }
    // One was asked; the others say they were not, and why (the one answer).
    std::string askedDetail;
    int notAsked = 0;
    for (const auto& domain : domains) {
        INFO(domain.id);
        REQUIRE_MESSAGE(byDomain.count(domain.id) == 1, all.output);
        const auto& item = byDomain[domain.id];
        CHECK_MESSAGE(item->getValue<std::string>("outcome") == "not_usable", all.output);
        const std::string detail = item->optValue<std::string>("detail", "");
        if (detail.rfind("not asked: ", 0) == 0) {
            ++notAsked;
            continue;
        }
        CHECK_MESSAGE(detail.rfind(unreachableDetail(ca), 0) == 0, detail);
        askedDetail = detail;
    }
    CHECK(notAsked == static_cast<int>(domains.size()) - 1);
    for (const auto& [id, item] : byDomain)
        if (item->optValue<std::string>("detail", "").rfind("not asked: ", 0) == 0)
            CHECK(item->getValue<std::string>("detail") == "not asked: " + askedDetail);
}

TEST_CASE("ari: ari-refresh --all --json stopped by SIGTERM part way prints the certificates it "
          "asked as a closed JSON array, and exits 143") {
    Leftovers leftovers;
    const TempDir scratch;
    const std::string allowance = scratch.path() + "/allowance";
    StalledCa ca({"--stall", "none", "--renewal-info", "window", "--renewal-info-allowance",
                  allowance});
    INFO(describe(ca.process()));
    const std::vector<TestDomain> domains = threeIssued(ca, "ari-stopped", leftovers);
    const int renewalInfoReads = ca.requests("GET", "/renewal-info/");
    const std::string third = renewalInfoPath(domains[2]);
    const int thirdReads = ca.requests("GET", third);

    // One more renewalInfo answered, then the CA reads them and never answers: the run is
    // stopped while it waits for the second certificate's answer.
    scratch.write("allowance", "1");
    const std::string out = scratch.path() + "/out.json";
    ChildProcess run("/bin/sh",
                     {"-c", "exec '" + requireEnv("DNSH_ADMIN_BIN") +
                                "' ari-refresh --all --json >'" + out + "'"},
                     {{"ACME_DIRECTORY", ca.directory()},
                      {"ACME_SCHEDULER_TIMEOUT", "2s"},
                      {"LOG_LEVEL", "error"}},
                     "ari-refresh-stopped");
    REQUIRE_MESSAGE(waitFor(60s,
                            [&] {
                                return ca.requests("GET", "/renewal-info/") >=
                                       renewalInfoReads + 2;
                            }),
                    describe(run));
    const int status = run.terminate();  // the first certificate asked, its renew_at moved
    INFO(run.log());
    CHECK(status == 128 + SIGTERM);

    // Before: nothing at all, the array built in memory was lost with the process.
    const auto items = jsonItems(readFile(out));
    REQUIRE(items->size() == 2);  // the one answered, the one stopped in (its timeout)
    const auto first = items->getObject(0);
    CHECK(first->getValue<std::string>("domain_id") == domains[0].id);
    CHECK(first->getValue<std::string>("outcome") == "scheduled");
    CHECK_FALSE(first->isNull("renew_at"));
    const auto second = items->getObject(1);
    CHECK(second->getValue<std::string>("domain_id") == domains[1].id);
    CHECK(second->getValue<std::string>("outcome") == "not_usable");
    // The third was not asked.
    CHECK(ca.requests("GET", third) == thirdReads);
    CHECK(run.log().find("stopped by signal " + std::to_string(SIGTERM) +
                         " after 2 certificate(s)") != std::string::npos);
}

TEST_CASE("ari: ari-refresh --all --json ended by a database error part way prints the "
          "certificates asked before it in an array left open, and exits 70") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "window"});
    INFO(describe(ca.process()));
    const std::vector<TestDomain> domains = threeIssued(ca, "ari-db-error", leftovers);
    const std::string third = renewalInfoPath(domains[2]);
    const int thirdReads = ca.requests("GET", third);

    // The second certificate's answer cannot be stored: the database refuses it, an error that
    // ends the run (a lock timeout would be reported as not_recorded, the others still asked;
    // a full disk as not_recorded too, the run ended with 75: the case below).
    const CertificateUpdateTrigger refusing(
        "ari_refuse_" + domains[1].id.substr(0, 8),
        "IF NEW.domain_id = " + quoted(domains[1].id) +
            " THEN RAISE EXCEPTION 'refused by test'; END IF;");

    const TempDir scratch;
    const std::string errors = scratch.path() + "/stderr";
    const CommandResult refreshed =
        ariRefresh("--all --json",
                   {{"ACME_DIRECTORY", ca.directory()}, {"LOG_LEVEL", "error"}}, errors);
    INFO(readFile(errors));
    CHECK(refreshed.exitCode == 70);
    // Before: nothing on stdout, the array built in memory was never printed. The array is left
    // open: a script reading it fails instead of taking a cut list for a whole one (closed, it
    // parsed as a one-item array).
    bool parsedWhole = true;
    try {
        Poco::JSON::Parser().parse(refreshed.output);
    } catch (const std::exception&) {
        parsedWhole = false;
    }
    CHECK_MESSAGE(!parsedWhole, "a failed run's output parses as JSON: '" << refreshed.output
                                                                           << "'");
    REQUIRE(refreshed.output.rfind("[", 0) == 0);
    // What it did print is each certificate asked, as a closed array would hold it.
    const auto items = jsonItems(refreshed.output + "]");
    REQUIRE(items->size() == 1);
    const auto first = items->getObject(0);
    CHECK(first->getValue<std::string>("domain_id") == domains[0].id);
    CHECK(first->getValue<std::string>("outcome") == "scheduled");
    // The error says what the database said (before: "Database Exception", Poco's class name).
    CHECK(readFile(errors).find("refused by test") != std::string::npos);
    CHECK(ca.requests("GET", third) == thirdReads);
}

TEST_CASE("ari: ari-refresh --all stops at the first answer a full disk refuses (SQLSTATE 53100), "
          "asks the CA about no other certificate, and exits 75") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "window"});
    INFO(describe(ca.process()));
    const std::vector<TestDomain> domains = threeIssued(ca, "ari-disk-full", leftovers);
    // Where only a stored answer could move them: the CA's window is an hour ahead.
    const std::string ours =
        " WHERE superseded_at IS NULL AND domain_id IN (" + idList(domains) + ")";
    execute("UPDATE certificates SET renew_at = now() + interval '20 hours'" + ours);
    std::map<std::string, int> askedBefore;
    for (const auto& domain : domains)
        askedBefore[domain.id] = ca.requests("GET", renewalInfoPath(domain));

    // Every answer about these certificates is refused as PostgreSQL refuses a write it has no
    // room for; the CA keeps answering.
    const CertificateUpdateTrigger diskFull(
        "ari_disk_full_" + domains[0].id.substr(0, 8),
        "IF NEW.domain_id IN (" + idList(domains) +
            ") THEN RAISE EXCEPTION 'could not extend file \"base/16384/2619\": No space left "
            "on device' USING ERRCODE = 'disk_full'; END IF;");

    const TempDir scratch;
    const std::string errors = scratch.path() + "/stderr";
    const CommandResult refreshed =
        ariRefresh("--all --json",
                   {{"ACME_DIRECTORY", ca.directory()}, {"LOG_LEVEL", "error"}}, errors);
    const std::string stderrText = readFile(errors);
    INFO("stdout: " << refreshed.output);
    INFO("stderr: " << stderrText);
    // Before: 70 once every certificate had been asked and reported not_recorded.
    CHECK(refreshed.exitCode == 75);
    // The CA asked about the first certificate only.
    CHECK(ca.requests("GET", renewalInfoPath(domains[0])) == askedBefore[domains[0].id] + 1);
    CHECK(ca.requests("GET", renewalInfoPath(domains[1])) == askedBefore[domains[1].id]);
    CHECK(ca.requests("GET", renewalInfoPath(domains[2])) == askedBefore[domains[2].id]);
    // That one printed, its answer not stored and why; the array left open, as after an error.
    REQUIRE(refreshed.output.rfind("[", 0) == 0);
    const auto items = jsonItems(refreshed.output + "]");
    REQUIRE(items->size() == 1);
    const auto first = items->getObject(0);
    CHECK(first->getValue<std::string>("domain_id") == domains[0].id);
    CHECK(first->getValue<std::string>("outcome") == "not_recorded");
    CHECK(first->optValue<std::string>("detail", "").find("its disk is full") !=
          std::string::npos);
    CHECK(stderrText.find("its disk is full") != std::string::npos);
    CHECK(stderrText.find("stopped after 1 certificate(s)") != std::string::npos);
    CHECK(stderrText.find("the others were not asked") != std::string::npos);
    // Nothing stored: no renew_at moved into the CA's window.
    CHECK(count("SELECT count(*) FROM certificates" + ours +
                " AND renew_at < now() + interval '19 hours'") == 0);
}

TEST_CASE("ari: ari-refresh --all with the certificates table held by another transaction stops "
          "after three answers in a row not stored, asks the CA about no other, and exits 75") {
    // Rows held, not the table, stay each certificate's own: the end of the case.
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "window"});
    INFO(describe(ca.process()));
    const std::vector<TestDomain> domains = issuedDomains(ca, "ari-table-held", leftovers, 5);
    // Where only a stored answer could move them: the CA's window is an hour ahead.
    const std::string ours =
        " WHERE superseded_at IS NULL AND domain_id IN (" + idList(domains) + ")";
    execute("UPDATE certificates SET renew_at = now() + interval '20 hours'" + ours);
    std::map<std::string, int> askedBefore;
    for (const auto& domain : domains)
        askedBefore[domain.id] = ca.requests("GET", renewalInfoPath(domain));

    // The table held SHARE, as a CREATE INDEX without CONCURRENTLY holds it: the run reads its
    // pages, and every answer's UPDATE waits out DB_LOCK_TIMEOUT (55P03), each a contention
    // that alone would be that certificate's. Released at the end of the case whatever happens.
    HeldTable held(databaseUrl(), "certificates", "SHARE");
    const TempDir scratch;
    const std::string errors = scratch.path() + "/stderr";
    const CommandResult refreshed = ariRefresh("--all --json",
                                               {{"ACME_DIRECTORY", ca.directory()},
                                                {"DB_LOCK_TIMEOUT", "300ms"},
                                                {"LOG_LEVEL", "error"}},
                                               errors);
    held.release();
    const std::string stderrText = readFile(errors);
    INFO("stdout: " << refreshed.output);
    INFO("stderr: " << stderrText);
    // Before: 70 once all five had been asked and reported not_recorded.
    CHECK(refreshed.exitCode == 75);
    // The CA asked about the first three only.
    for (std::size_t i = 0; i < domains.size(); ++i) {
        INFO("certificate " << i << ": " << domains[i].id);
        const int asked = i < 3 ? 1 : 0;
        CHECK(ca.requests("GET", renewalInfoPath(domains[i])) ==
              askedBefore[domains[i].id] + asked);
    }
    CHECK(stderrText.find("3 answers in a row could not be stored: rows or the table held by "
                          "another transaction") != std::string::npos);
    CHECK(stderrText.find("stopped after 3 certificate(s)") != std::string::npos);
    CHECK(stderrText.find("the others were not asked") != std::string::npos);
    // Those three printed, each not stored for the lock; the array left open, as after an error.
    REQUIRE(refreshed.output.rfind("[", 0) == 0);
    const auto items = jsonItems(refreshed.output + "]");
    REQUIRE(items->size() == 3);
    for (unsigned i = 0; i < 3; ++i) {
        const auto item = items->getObject(i);
        CHECK(item->getValue<std::string>("domain_id") == domains[i].id);
        CHECK(item->getValue<std::string>("outcome") == "not_recorded");
        CHECK(item->optValue<std::string>("detail", "").find("a row stayed locked too long") !=
              std::string::npos);
    }
    // Nothing stored: no renew_at moved into the CA's window.
    CHECK(count("SELECT count(*) FROM certificates" + ours +
                " AND renew_at < now() + interval '19 hours'") == 0);

    // The table free, three rows held (the domain rows recordAri locks first): two in a row, an
    // answer stored, then one. Each stays that certificate's: every certificate asked, 70.
    for (const auto& domain : domains)
        askedBefore[domain.id] = ca.requests("GET", renewalInfoPath(domain));
    HeldRows heldRows(databaseUrl(), "SELECT id FROM domains WHERE id IN (" +
                                         quoted(domains[0].id) + ", " + quoted(domains[1].id) +
                                         ", " + quoted(domains[3].id) + ") FOR UPDATE");
    const CommandResult contended = ariRefresh("--all --json",
                                               {{"ACME_DIRECTORY", ca.directory()},
                                                {"DB_LOCK_TIMEOUT", "300ms"},
                                                {"LOG_LEVEL", "error"}},
                                               errors);
    heldRows.release();
    INFO("rows held, stdout: " << contended.output);
    INFO("rows held, stderr: " << readFile(errors));
    CHECK(contended.exitCode == 70);
    for (const auto& domain : domains) {
        INFO(domain.id);
        CHECK(ca.requests("GET", renewalInfoPath(domain)) == askedBefore[domain.id] + 1);
    }
    const auto all = jsonItems(contended);
    REQUIRE(all->size() == domains.size());
    const char* outcomes[] = {"not_recorded", "not_recorded", "scheduled", "not_recorded",
                              "scheduled"};
    for (unsigned i = 0; i < domains.size(); ++i) {
        CHECK(all->getObject(i)->getValue<std::string>("domain_id") == domains[i].id);
        CHECK(all->getObject(i)->getValue<std::string>("outcome") == outcomes[i]);
    }
}

TEST_CASE("ari: ari-refresh --all whose stdout reader went away (EPIPE) asks and stores every "
          "certificate, and its exit code reports them") {
    // README "ACME Renewal Information": a stdout its reader closed (`| head`, less quit early)
    // does not stop the run; its exit code still reports the certificates, a note on stderr.
    // SIGPIPE at its default as the run starts, as a shell starts `ari-refresh --all | head -1`.
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--renewal-info", "window"});
    INFO(describe(ca.process()));
    const std::vector<TestDomain> domains = threeIssued(ca, "ari-reader-gone", leftovers);
    const std::string current =
        " WHERE superseded_at IS NULL AND domain_id IN (" + idList(domains) + ")";
    for (const bool asJson : {false, true}) {
        std::vector<std::string> arguments{"ari-refresh", "--all"};
        if (asJson) arguments.push_back("--json");
        INFO("--json: " << asJson);
        // Where only this run's answers can move them: the window is an hour ahead, the next
        // fetch its Retry-After (6 hours).
        execute("UPDATE certificates SET renew_at = now() + interval '20 hours', "
                "ari_next_fetch_at = now() + interval '20 hours'" +
                current);
        std::map<std::string, int> askedBefore;
        for (const auto& domain : domains)
            askedBefore[domain.id] = ca.requests("GET", renewalInfoPath(domain));

        const ReaderGoneRun run = runWithReaderGone(
            requireEnv("DNSH_ADMIN_BIN"), arguments,
            {{"ACME_DIRECTORY", ca.directory()}, {"LOG_LEVEL", "error"}},
            StartingSigpipe::Default, std::chrono::seconds(120));
        INFO("stderr: " << run.errors);
        // Every answer usable: 0. Taken for a full disk (the rule of every other command): 74.
        CHECK(run.exitCode == 0);
        CHECK(run.errors.find("dnsh-admin ari-refresh: stdout was closed") != std::string::npos);
        CHECK(run.errors.find("the exit code reports the certificates") != std::string::npos);
        CHECK(run.errors.find("could not be written") == std::string::npos);
        for (const auto& domain : domains) {
            INFO(domain.id);
            CHECK(ca.requests("GET", renewalInfoPath(domain)) == askedBefore[domain.id] + 1);
            const std::string certificate =
                " FROM certificates WHERE superseded_at IS NULL AND domain_id = " +
                quoted(domain.id);
            // renew_at in the CA's window, as the scheduler would have stored it.
            CHECK(count("SELECT count(*)" + certificate +
                        " AND renew_at BETWEEN now() + interval '55 minutes' AND now() + "
                        "interval '2 hours'") == 1);
            const long long nextFetch = secondsToNextFetch(scalar("SELECT id" + certificate));
            CHECK(nextFetch >= 6 * 3600 - 120);
            CHECK(nextFetch <= 6 * 3600);
        }
    }
}
