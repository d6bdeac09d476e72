// issue-certificate's CAA precheck has one bound for its DNS (issue_start.cpp's caaLookupBudget:
// one lookup at its longest, 2 x DNS_TIMEOUT x the servers, and 4 x DNS_TIMEOUT for the walk;
// here one server, and DNS_TIMEOUT=1s (6 s), or 2s (12 s) where the timing needs room). The
// walk asks once per label up to the TLD (RFC 8659 §3), so a customer's deep name behind a slow
// nameserver, each answer in time, held an issue handler for the labels times the delay (about
// 10 minutes for ~115 labels at 5 s), past the 5-minute issue claim. Now the call answers 424
// dns_timeout with Retry-After once the bound is spent, before any order, the domain as it was;
// and the walk is made once for every CA. The slow DNS is a played server
// (tests/support/fake_nameservers) standing in as the API's DNS_RESOLVER: NOERROR without
// records to every question unless a case says otherwise.
#include <doctest/doctest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The k-th CAA question answered k x `pace` after the first came: a walk of 15 at 700 ms ends
// 10.5 s after its start however long the hops between took (a loaded machine). A sleep of
// `pace` per question added each hop's own time, 1.5 s being all the slack for 15 hops.
class PacedAnswers {
public:
    explicit PacedAnswers(std::chrono::milliseconds pace) : pace_(pace) {}
    void waitForTurn(int turn) {
        Clock::time_point first;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (!first_) first_ = Clock::now();
            first = *first_;
        }
        std::this_thread::sleep_until(first + turn * pace_);
    }

private:
    std::chrono::milliseconds pace_;
    std::mutex mutex_;
    std::optional<Clock::time_point> first_;
};

// issue_start.cpp's caaLookupBudget with the one played server: one lookup at its longest
// (longestDnsLookup: kLookupWaitsPerServer = 2 waits of DNS_TIMEOUT, UDP then TCP, x 1 server)
// and kCaaWalkTimeouts = 4 x DNS_TIMEOUT for the walk; far below its cap (the claim's 5 min / 2).
constexpr double caaBudgetSeconds(double dnsTimeoutSeconds) {
    return 2 * dnsTimeoutSeconds * 1 + 4 * dnsTimeoutSeconds;
}
constexpr double kBudgetSeconds = caaBudgetSeconds(1);  // DNS_TIMEOUT=1s: 6 s

std::string played() { return requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS"); }

std::string lowercase(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// "a." times `labels`.
std::string deepPrefix(int labels) {
    std::string prefix;
    for (int i = 0; i < labels; ++i) prefix += "a.";
    return prefix;
}

struct Timed {
    HttpResult answer;
    double seconds = 0;
};

// Bounded by the test client's own 30 s.
Timed issueAt(const std::string& baseUrl, const TestDomain& domain) {
    const auto started = Clock::now();
    HttpResult answer = send(
        baseUrl, {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json",
                  {}});
    return {answer, std::chrono::duration<double>(Clock::now() - started).count()};
}

void requireNothingOrdered(const TestDomain& domain, int ordersBefore) {
    CHECK(ordersAtTheCa() == ordersBefore);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}

}  // namespace

TEST_CASE("CAA walk deadline: a deep name whose DNS answers every CAA question slowly gets 424 "
          "dns_timeout within the budget, no order placed, the domain still verified") {
    Leftovers leftovers;
    // 43 names to walk, 17 s at 400 ms each (each answer well within DNS_TIMEOUT).
    const TestDomain domain = verifiedDomain(deepPrefix(40) + "caa-walk", leftovers);

    std::atomic<int> caaQuestions{0};
    FakeNameservers slowDns({played()}, [&](const std::string&, const std::string& qtype) {
        if (qtype == "CAA") {
            ++caaQuestions;
            std::this_thread::sleep_for(400ms);
        }
        return std::vector<std::string>{};  // an empty non-terminal: on to the parent
    });
    // Verified through the stack's own API and DNS; only the issuing API gets the slow DNS.
    ApiServer api("caa-walk-deadline", {{"DNS_RESOLVER", played() + ":53"}, {"DNS_TIMEOUT", "1s"}});
    const int ordersBefore = ordersAtTheCa();

    const Timed issued = issueAt(api.baseUrl(), domain);
    INFO(issued.answer.status << " after " << issued.seconds << " s, " << caaQuestions.load()
                              << " CAA questions: " << issued.answer.body);
    CHECK(issued.answer.status == 424);
    CHECK(issued.answer.jsonString("error_code") == "dns_timeout");
    CHECK(issued.answer.retryAfterSeconds() > 0);
    // The budget, plus the CA's directory and account (Pebble) and lighttpd.
    CHECK(issued.seconds < kBudgetSeconds + 3);
    // What fits in the budget (15 at 400 ms) and the one it cut short; not all 43.
    CHECK(caaQuestions.load() <= 17);
    requireNothingOrdered(domain, ordersBefore);
}

TEST_CASE("CAA walk deadline: a _validation-persist lookup the budget cuts short is a failed CAA "
          "lookup (424 dns_timeout), not an order with dns-01") {
    Leftovers leftovers;
    // DNS_TIMEOUT=2s: a budget of 12 s. 15 names at 700 ms: 10.5 s of it; the record's answer
    // (1.9 s, within DNS_TIMEOUT) then comes after the budget. The walk must end within the
    // budget and less than 1.9 s before its end (else the record answers in time): between
    // 10.1 s and 12 s. The answers are paced from the first question (PacedAnswers), so the
    // walk ends at 10.5 s and one hop.
    const TestDomain domain = verifiedDomain(deepPrefix(12) + "caa-persist", leftovers);

    std::atomic<int> caaQuestions{0}, persistQuestions{0};
    PacedAnswers paced(700ms);
    FakeNameservers slowDns({played()}, [&](const std::string& qname, const std::string& qtype) {
        if (qtype == "CAA") {
            paced.waitForTurn(++caaQuestions);
        } else if (qtype == "TXT" && qname.starts_with("_validation-persist.")) {
            ++persistQuestions;
            std::this_thread::sleep_for(1900ms);
        }
        return std::vector<std::string>{};
    });
    ApiServer api("caa-persist-deadline",
                  {{"DNS_RESOLVER", played() + ":53"}, {"DNS_TIMEOUT", "2s"}});
    const int ordersBefore = ordersAtTheCa();

    const Timed issued = issueAt(api.baseUrl(), domain);
    INFO(issued.answer.status << " after " << issued.seconds << " s, " << caaQuestions.load()
                              << " CAA and " << persistQuestions.load()
                              << " _validation-persist questions: " << issued.answer.body);
    // The walk answered in time and the record was asked (Pebble offers dns-persist-01).
    REQUIRE(caaQuestions.load() == 15);
    REQUIRE(persistQuestions.load() >= 1);
    CHECK(issued.answer.status == 424);
    CHECK(issued.answer.jsonString("error_code") == "dns_timeout");
    CHECK(issued.answer.retryAfterSeconds() > 0);
    CHECK(issued.seconds < caaBudgetSeconds(2) + 3);
    requireNothingOrdered(domain, ordersBefore);
}

TEST_CASE("CAA walk: two CAs share one walk, each name asked once, and the second CA takes the "
          "order the first one's CAA forbids") {
    Leftovers leftovers;
    TempDir dir;
    const TestDomain domain = verifiedDomain("b.a.caa-shared", leftovers);
    // "b.a.caa-shared-<hex>.<zone>": the set at the registered zone's base name allows only the
    // second CA, so the first CA's check walks up to it and is forbidden, the second's allowed.
    const std::string base = domain.name.substr(std::string("b.a.").size());
    const std::string fallbackIdentity = requireEnv("ACME_CAA_IDENTITY_EAB");

    std::mutex mutex;
    std::map<std::string, int> caaAsked;  // qname (lowercase, with the dot) -> questions
    FakeNameservers dns({played()}, [&](const std::string& qname, const std::string& qtype) {
        std::vector<std::string> records;
        if (qtype != "CAA") return records;
        std::string name = qname;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!name.ends_with(".")) name += ".";
        const std::lock_guard<std::mutex> lock(mutex);
        ++caaAsked[name];
        if (name == base + ".")
            records.push_back(base + ". 0 IN CAA 0 issue \"" + fallbackIdentity + "\"");
        return records;
    });
    const std::string file = dir.write(
        "cas.env",
        "# written by caa_walk_deadline_test\n"
        "ACME_CAS=primary,fallback\n"
        "ACME_CA_PRIMARY_DIRECTORY=" + requireEnv("ACME_DIRECTORY") + "\n"
        "ACME_CA_PRIMARY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
        "ACME_CA_FALLBACK_DIRECTORY=" + requireEnv("ACME_DIRECTORY_EAB") + "\n"
        "ACME_CA_FALLBACK_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
        "ACME_CA_FALLBACK_EAB_KID=" + requireEnv("DNSH_TEST_EAB_KID") + "\n"
        "ACME_CA_FALLBACK_EAB_HMAC_KEY=\"" + requireEnv("DNSH_TEST_EAB_HMAC_KEY") + "\"\n");
    ApiServer api("caa-walk-shared", {{"ACME_DIRECTORY", ""},
                                      {"ACME_PROFILE", ""},
                                      {"ACME_CAS_FILE", file},
                                      {"DNS_RESOLVER", played() + ":53"},
                                      {"DNS_TIMEOUT", "1s"}});
    const int atFirst = ordersAtTheCa();
    const int atSecond = ordersAtTheCa("pebble-eab.log");

    const Timed issued = issueAt(api.baseUrl(), domain);
    std::string asked;
    {
        const std::lock_guard<std::mutex> lock(mutex);
        for (const auto& [name, times] : caaAsked)
            asked += name + " x" + std::to_string(times) + " ";
    }
    INFO(issued.answer.status << ": " << issued.answer.body << "; CAA asked: " << asked);
    CHECK(issued.answer.status == 202);
    CHECK(ordersAtTheCa() == atFirst);
    CHECK(ordersAtTheCa("pebble-eab.log") == atSecond + 1);
    // b.a.X, a.X and X, each once, not once per CA.
    const std::lock_guard<std::mutex> lock(mutex);
    CHECK(caaAsked.size() == 3);
    for (const auto& [name, times] : caaAsked) CHECK_MESSAGE(times == 1, name);
}

TEST_CASE("CAA walk deadline: a CA passed over because CAA forbids it, its _validation-persist "
          "lookup cut short by the budget, leaves the next CA, which needs no more DNS, the "
          "order") {
    Leftovers leftovers;
    TempDir dir;
    // DNS_TIMEOUT=2s: a budget of 12 s. 15 names at 700 ms: 10.5 s of it; the search ends at the
    // domain's base name, whose set names another CA, so Pebble (which may offer dns-persist-01:
    // its record is asked) is forbidden whatever the record says. That record's first answer
    // (1.9 s, within DNS_TIMEOUT) comes after the budget: its lookup is cut short.
    const std::string prefix = deepPrefix(14);
    const TestDomain domain = verifiedDomain(prefix + "caa-next", leftovers);
    const std::string base = domain.name.substr(prefix.size());
    // The second CA: the stand-in, whose directory lists no caaIdentities, so its check asks
    // nothing (RFC 8555 section 7.1.1: CAA not checked) and it takes the order at once.
    StalledCa second({"--stall", "none"});

    std::atomic<int> caaQuestions{0}, persistQuestions{0};
    PacedAnswers paced(700ms);
    FakeNameservers slowDns({played()}, [&](const std::string& qname, const std::string& qtype) {
        std::vector<std::string> records;
        const std::string name = lowercase(qname.ends_with(".") ? qname : qname + ".");
        if (qtype == "CAA") {
            paced.waitForTurn(++caaQuestions);
            if (name == base + ".")
                records.push_back(base + ". 0 IN CAA 0 issue \"other-ca.example\"");
        } else if (qtype == "TXT" && name.starts_with("_validation-persist.")) {
            // Only the first: the stand-in's placement asks the record again (a cut lookup is
            // not kept) and gets its answer at once.
            if (++persistQuestions == 1) std::this_thread::sleep_for(1900ms);
        }
        return records;
    });
    const std::string file = dir.write(
        "cas.env",
        "# written by caa_walk_deadline_test\n"
        "ACME_CAS=primary,second\n"
        "ACME_CA_PRIMARY_DIRECTORY=" + requireEnv("ACME_DIRECTORY") + "\n"
        "ACME_CA_PRIMARY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
        "ACME_CA_SECOND_DIRECTORY=" + second.directory() + "\n"
        "ACME_CA_SECOND_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n");
    ApiServer api("caa-persist-next", {{"ACME_DIRECTORY", ""},
                                       {"ACME_PROFILE", ""},
                                       {"ACME_CAS_FILE", file},
                                       {"DNS_RESOLVER", played() + ":53"},
                                       {"DNS_TIMEOUT", "2s"}});
    const int atFirst = ordersAtTheCa();

    const Timed issued = issueAt(api.baseUrl(), domain);
    INFO(issued.answer.status << " after " << issued.seconds << " s (budget "
                              << caaBudgetSeconds(2) << " s), " << caaQuestions.load()
                              << " CAA and " << persistQuestions.load()
                              << " _validation-persist questions: " << issued.answer.body
                              << "\nstand-in: " << describe(second.process()));
    // The walk answered within the budget and Pebble's record was asked, then asked again.
    REQUIRE(caaQuestions.load() == 15);
    REQUIRE(persistQuestions.load() >= 1);
    // Before: 424 dns_timeout, Pebble's cut lookup held against the stand-in's check too.
    CHECK(issued.answer.status == 202);
    CHECK(second.requests("POST", "/order-plz") == 1);
    CHECK(ordersAtTheCa() == atFirst);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");
}
