// CA profiles end to end (issue 20, draft-ietf-acme-profiles, README "Certificate profiles"): the
// test stack's Pebbles offer "default" and "shortlived", each with its own lifetime
// (deploy/lib/stack.sh), and the stack sets ACME_PROFILE=default. A domain registered with a
// profile gets every certificate, renewals included, under it; the lifetimes are read from the
// stored certificates with openssl. A profile the CA does not offer is refused at POST /domains;
// an ACME_PROFILE it does not offer fails the order with invalid_profile, naming the setting.
#include <doctest/doctest.h>
#include <time.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

constexpr long long kDefaultLifetime = 7776000;   // the test Pebble's "default": 90 days
constexpr long long kShortlivedLifetime = 576000;  // its "shortlived": 160 hours

// `openssl x509 -noout -dates` of a stored certificate: notAfter - notBefore in seconds.
long long lifetimeSeconds(const std::string& certificateId) {
    TempDir dir;
    const std::string pem = dir.write(
        "cert.pem",
        scalar("SELECT certificate_pem FROM certificates WHERE id = " + quoted(certificateId)));
    const CommandResult dates = runCommand("openssl x509 -noout -dates -in " + pem);
    REQUIRE_MESSAGE(dates.exitCode == 0, dates.output);
    auto epoch = [&](const std::string& field) {
        const std::regex line(field + R"(=(\w{3} +\d+ \d{2}:\d{2}:\d{2} \d{4}) GMT)");
        std::smatch match;
        REQUIRE_MESSAGE(std::regex_search(dates.output, match, line), dates.output);
        struct tm parts {};
        REQUIRE(strptime(match[1].str().c_str(), "%b %d %H:%M:%S %Y", &parts) != nullptr);
        return static_cast<long long>(timegm(&parts));
    };
    return epoch("notAfter") - epoch("notBefore");
}

std::string newestCertificateId(const TestDomain& domain) {
    return scalar("SELECT id FROM certificates WHERE domain_id = " + quoted(domain.id) +
                  " ORDER BY created_at DESC, id DESC LIMIT 1");
}

// The view's member, "" when it has none.
std::string member(const HttpResult& result, const std::string& name) {
    return result.json()->optValue<std::string>(name, "");
}

}  // namespace

TEST_CASE("profiles: a domain's profile sets its certificate's lifetime, ACME_PROFILE the rest") {
    Leftovers leftovers;
    const TestDomain shortlived = verifiedDomain("profile-short", leftovers, "shortlived");
    const TestDomain plain = verifiedDomain("profile-plain", leftovers);
    CHECK(member(get("/domains/" + shortlived.id), "profile") == "shortlived");
    CHECK_FALSE(get("/domains/" + plain.id).json()->has("profile"));

    const std::string shortValue = startIssuance(shortlived);
    const std::string plainValue = startIssuance(plain);
    const auto scheduler = startScheduler();
    publish(shortlived, shortValue);
    publish(plain, plainValue);
    requireAllActive({shortlived, plain}, 30s);

    // The stored certificates' own dates (Pebble: notAfter = notBefore + validityPeriod - 1 s).
    const std::string shortCert = newestCertificateId(shortlived);
    const std::string plainCert = newestCertificateId(plain);
    CHECK(lifetimeSeconds(shortCert) == kShortlivedLifetime - 1);
    CHECK(lifetimeSeconds(plainCert) == kDefaultLifetime - 1);

    // newOrder named them: the domain's choice, else ACME_PROFILE (the stack's "default").
    CHECK(scalar("SELECT profile FROM acme_orders WHERE domain_id = " + quoted(shortlived.id)) ==
          "shortlived");
    CHECK(scalar("SELECT profile FROM acme_orders WHERE domain_id = " + quoted(plain.id)) ==
          "default");
    const HttpResult shortMeta = get("/domains/" + shortlived.id + "/certificate");
    REQUIRE(shortMeta.status == 200);
    CHECK(member(shortMeta, "profile") == "shortlived");
    CHECK(member(get("/domains/" + plain.id + "/certificate"), "profile") == "default");
    const HttpResult view = get("/domains/" + shortlived.id);
    CHECK(member(view, "profile") == "shortlived");
    CHECK(view.json()->getObject("certificate")->optValue<std::string>("profile", "") ==
          "shortlived");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("profiles: a renewal orders under the domain's profile") {
    Leftovers leftovers;
    // The renewal CA issues 40-second certificates as "default", 20-second ones as "shortlived"
    // (half of it), and reuses authorizations: the renewal needs nothing published.
    TestDomain domain = verifiedDomain("profile-renew", leftovers, "shortlived");
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id = " + quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    const auto scheduler =
        startScheduler(Env{{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_REUSE")}});
    std::string value;
    REQUIRE(waitFor(15s, [&] {
        value = member(get("/domains/" + domain.id), "expected_txt_value");
        return !value.empty();
    }));
    publish(domain, value);
    requireAllActive({domain}, 20s);
    const std::string first = newestCertificateId(domain);
    CHECK(lifetimeSeconds(first) == 19);

    // ARI's window is the whole lifetime: the renewal comes within it, by itself.
    REQUIRE_MESSAGE(waitFor(40s, [&] { return newestCertificateId(domain) != first; }),
                    get("/domains/" + domain.id).body);
    const std::string second = newestCertificateId(domain);
    CHECK(lifetimeSeconds(second) == 19);
    CHECK(scalar("SELECT string_agg(kind || ':' || coalesce(profile, '-'), ',' ORDER BY "
                 "created_at) FROM acme_orders WHERE domain_id = " +
                 quoted(domain.id) + " AND status = 'valid'") ==
          "issue:shortlived,renewal:shortlived");
    CHECK(member(get("/domains/" + domain.id + "/certificate"), "profile") == "shortlived");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("profiles: POST /domains refuses a profile the CA does not offer, or not a string") {
    Leftovers leftovers;
    struct Case {
        std::string description, profile, expected;
    };
    const std::vector<Case> cases{
        {"a name the CA does not list", "\"tlsserver\"",
         "profile \"tlsserver\" is not offered by the CA; it offers: default, shortlived"},
        {"not a string", "5", "field profile must be a string"},
        {"null", "null", "field profile must be a string"},
        {"not a name", "\"short lived\"", "field profile: expected a profile name"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string name =
            "profile-refused-" + std::to_string(&c - cases.data()) + ".example";
        const HttpResult refused = postJson(
            "/domains", "{\"domain_name\": \"" + name + "\", \"profile\": " + c.profile + "}");
        CHECK(refused.status == 400);
        CHECK(isJsonAnswer(refused));
        CHECK(member(refused, "error").find(c.expected) == 0);
        CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 0);
    }
}

TEST_CASE("profiles: an ACME_PROFILE the CA does not offer fails the order, naming the setting") {
    Leftovers leftovers;
    TestDomain domain = verifiedDomain("profile-setting", leftovers);
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id = " + quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    const auto scheduler = startScheduler(Env{{"ACME_PROFILE", "tlsserver"}});
    HttpResult view;
    REQUIRE(waitFor(15s, [&] {
        view = get("/domains/" + domain.id);
        return member(view, "status") == "failed";
    }));
    CHECK(member(view, "error_code") == "invalid_profile");
    CHECK(member(view, "error").find("ACME_PROFILE=\"tlsserver\" is not a profile the CA offers "
                                     "(it offers: default, shortlived)") != std::string::npos);
    CHECK(scheduler->terminate() == 0);
}
