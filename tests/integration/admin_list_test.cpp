// dnsh-admin list: every matching domain, however many. It stopped at 10,000 rows with exit 0
// and nothing saying rows were missing. A scratch database of its own, for more than ten pages.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>

#include "support/domain_flows.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;

namespace {

constexpr int kExpiringSoon = 10'001;

// dnsh-admin against `databaseUrl`, its stdout written to `out` (stderr stays in the result).
CommandResult adminTo(const std::string& databaseUrl, const std::string& arguments,
                      const std::string& out) {
    std::string command = "DATABASE_URL='";
    command += databaseUrl;
    command += "' ";
    command += requireEnv("DNSH_ADMIN_BIN");
    command += " ";
    command += arguments;
    command += " >";
    command += out;
    return runCommand(command);
}

}  // namespace

TEST_CASE("dnsh-admin list gives every matching domain past 10,000, each once, in order") {
    ScratchDatabase db("dnsh_adminlist");
    db.migrate();
    // Expiring soon: 10,001 in 7 groups of one expiry each, all registered at the same instant,
    // so pages end inside ties that only the id breaks. Then one expiring in 30 days (out of
    // the 7-day bound) and three without a certificate (listed last without a bound).
    // Appended, not "..." + std::to_string(...): GCC 12's -Wrestrict false positive.
    const std::string soon = std::to_string(kExpiringSoon);
    const std::string soonAndLater = std::to_string(kExpiringSoon + 1);
    std::string domains =
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
        "SELECT md5('d' || i), 'd' || i || '.list.example', repeat('0', 64), "
        "CASE WHEN i <= ";
    domains += soonAndLater;
    domains += " THEN 'active' ELSE 'verified' END, now() FROM generate_series(1, ";
    domains += std::to_string(kExpiringSoon + 4);
    domains += ") i";
    db.run(domains);
    std::string certificates =
        "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
        "private_key_ciphertext, key_id, issued_at, expires_at) "
        "SELECT md5('c' || i), md5('d' || i), 'CERT', 'CHAIN', 'sealed', 'k', now(), "
        "CASE WHEN i <= ";
    certificates += soon;
    certificates +=
        " THEN now() + interval '1 day' + (i % 7) * interval '1 hour' "
        "ELSE now() + interval '30 days' END FROM generate_series(1, ";
    certificates += soonAndLater;
    certificates += ") i";
    db.run(certificates);
    const TempDir dir;

    const std::string json = dir.path() + "/list.json";
    const CommandResult listed = adminTo(db.url(), "list --expiring-within 7d --json", json);
    INFO(listed.output);
    REQUIRE(listed.exitCode == 0);
    Poco::JSON::Parser parser;
    const auto items = parser.parse(readFile(json)).extract<Poco::JSON::Array::Ptr>();
    CHECK(items->size() == kExpiringSoon);  // 10,000 before
    std::set<std::string> ids;
    std::string previous;
    bool ordered = true;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto item = items->getObject(static_cast<unsigned>(i));
        ids.insert(item->getValue<std::string>("id"));
        const std::string expires = item->getValue<std::string>("expires_at");
        if (expires < previous) ordered = false;
        previous = expires;
    }
    CHECK(ids.size() == kExpiringSoon);  // none twice where a page ended inside a tie
    CHECK(ordered);                      // soonest expiry first, across pages
    std::string later = "SELECT md5('d' || ";
    later += soonAndLater;
    later += ")";
    CHECK(ids.count(db.text(later)) == 0);  // expires in 30 days

    // No bound: every domain, those without a certificate last.
    const std::string table = dir.path() + "/list.txt";
    const CommandResult all = adminTo(db.url(), "list", table);
    INFO(all.output);
    REQUIRE(all.exitCode == 0);
    std::istringstream lines(readFile(table));
    std::string line, last;
    int rows = -1;  // the header
    while (std::getline(lines, line)) {
        ++rows;
        last = line;
    }
    CHECK(rows == kExpiringSoon + 4);
    CHECK(last.find("verified") != std::string::npos);
    CHECK(last.find(" - ") != std::string::npos);  // no expiry
}

TEST_CASE("dnsh-admin list: the alerts' runbook commands show the failing renewals, with their "
          "error, and the stuck long-lived certificates") {
    ScratchDatabase db("dnsh_adminfailing");
    db.migrate();
    // More failing renewals than a page (ordered by id, the failing index's key), the first with
    // the failed renewal order that says why; then a healthy certificate, a short-lived one
    // within 7 days all its life, and a long-lived one within 7 days whose renewal is stuck.
    constexpr int kFailing = 1'200;
    std::string domains =
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
        "SELECT md5(n), n || '.runbook.example', repeat('0', 64), 'active', now() FROM "
        "(SELECT 'f' || i AS n FROM generate_series(1, ";
    domains += std::to_string(kFailing);
    domains += ") i UNION ALL VALUES ('healthy'), ('short'), ('stuck')) names(n)";
    db.run(domains);
    auto certificates = [&](const std::string& names, const std::string& issued,
                            const std::string& expires, int renewalFailures) {
        std::string sql =
            "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at, renewal_failures) "
            "SELECT md5('c' || n), md5(n), 'CERT', 'CHAIN', 'sealed', 'k', now() - interval '";
        sql += issued;
        sql += "', now() + interval '";
        sql += expires;
        sql += "', ";
        sql += std::to_string(renewalFailures);
        sql += " FROM (";
        sql += names;
        sql += ") names(n)";
        db.run(sql);
    };
    std::string failingNames = "SELECT 'f' || i AS n FROM generate_series(1, ";
    failingNames += std::to_string(kFailing);
    failingNames += ") i";
    certificates(failingNames, "80 days", "10 days", 1);
    certificates("VALUES ('healthy')", "30 days", "60 days", 0);
    certificates("VALUES ('short')", "100 hours", "60 hours", 0);
    certificates("VALUES ('stuck')", "85 days", "5 days", 0);
    const std::string why = "the CA refused the order: rateLimited (too many certificates)";
    db.run("INSERT INTO acme_orders (id, domain_id, kind, step, status, replaces_certificate_id, "
           "error, error_code) VALUES (md5('order-f1'), md5('f1'), 'renewal', 'place_order', "
           "'invalid', md5('cf1'), '" +
           why + "', 'ca_rate_limited')");
    const std::string failingOne = db.text("SELECT md5('f1')");
    const TempDir dir;

    // The commands alerts.yml quotes, word for word: the test runs what the runbook says.
    const std::string alerts =
        readFile(std::string(DNSH_SOURCE_DIR) + "/deploy/prometheus/alerts.yml");
    const std::string failingCommand = "dnsh-admin list --renewal-failing --json";
    const std::string stuckCommand = "dnsh-admin list --long-lived --expiring-within 7d";
    const std::size_t first = alerts.find(failingCommand);
    REQUIRE(first != std::string::npos);  // DnshRenewalsFailing
    CHECK(alerts.find(failingCommand, first + 1) != std::string::npos);  // ...OrdersFailed
    CHECK(alerts.find(stuckCommand) != std::string::npos);  // DnshCertificateExpiringWithin7Days
    const std::string prefix = "dnsh-admin ";

    const std::string failingJson = dir.path() + "/failing.json";
    const CommandResult failing =
        adminTo(db.url(), failingCommand.substr(prefix.size()), failingJson);
    INFO(failing.output);
    REQUIRE(failing.exitCode == 0);
    Poco::JSON::Parser parser;
    const auto items = parser.parse(readFile(failingJson)).extract<Poco::JSON::Array::Ptr>();
    CHECK(items->size() == kFailing);  // not the healthy, short or stuck one
    std::set<std::string> ids;
    std::string previous;
    bool ordered = true;
    int withError = 0;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto item = items->getObject(static_cast<unsigned>(i));
        const std::string id = item->getValue<std::string>("id");
        ids.insert(id);
        if (id <= previous) ordered = false;
        previous = id;
        if (item->isNull("renewal_error")) continue;
        ++withError;
        CHECK(id == failingOne);
        CHECK(item->getValue<std::string>("renewal_error") == why);
        CHECK(item->getValue<std::string>("renewal_error_code") == "ca_rate_limited");
        CHECK(item->getValue<std::string>("status") == "active");
    }
    CHECK(ids.size() == kFailing);  // each once across the page boundary
    CHECK(ids.count(failingOne) == 1);
    CHECK(ordered);
    CHECK(withError == 1);

    // Within 7 days: the short-lived certificate too, where it spends its whole healthy life;
    // the runbook's command shows the stuck long-lived one alone.
    const std::string stuckJson = dir.path() + "/stuck.json";
    const CommandResult stuck =
        adminTo(db.url(), stuckCommand.substr(prefix.size()) + " --json", stuckJson);
    INFO(stuck.output);
    REQUIRE(stuck.exitCode == 0);
    const auto stuckItems = parser.parse(readFile(stuckJson)).extract<Poco::JSON::Array::Ptr>();
    REQUIRE(stuckItems->size() == 1);
    CHECK(stuckItems->getObject(0)->getValue<std::string>("id") ==
          db.text("SELECT md5('stuck')"));
    const std::string allJson = dir.path() + "/within7d.json";
    REQUIRE(adminTo(db.url(), "list --expiring-within 7d --json", allJson).exitCode == 0);
    CHECK(parser.parse(readFile(allJson)).extract<Poco::JSON::Array::Ptr>()->size() == 2);
}
