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
