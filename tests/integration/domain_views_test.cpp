// The domain view's second row (010_domain_views.sql): kept by triggers on certificates,
// acme_orders and acme_challenges. After each kind of change a writer makes (and after upgrading a
// database that already holds rows) every kept row must equal what domain_view_source computes,
// and no domain may lack a row that would hold anything. On a scratch database of the test server.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kToken(64, '0');

std::string id(char c) {
    // Built by appending: GCC 12 warns (-Wrestrict, a false positive) on "'" + std::string(...).
    std::string quoted(1, '\'');
    quoted.append(32, c);
    quoted += '\'';
    return quoted;
}

std::string insertDomain(char c, const std::string& status) {
    return "INSERT INTO domains (id, domain_name, verification_token, status, verified_at) VALUES "
           "(" +
           id(c) + ", 'd" + std::string(1, c) + ".example', '" + kToken + "', '" + status +
           "', now());";
}

std::string insertCertificate(char c, char domain, int ageDays) {
    return "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at, created_at, renew_at) VALUES (" +
           id(c) + ", " + id(domain) + ", 'pem', 'chain', 'sealed', 'k', now() - interval '" +
           std::to_string(ageDays) + " days', now() + interval '60 days', now() - interval '" +
           std::to_string(ageDays) + " days', now() + interval '30 days');";
}

std::string insertOrder(char c, char domain, const std::string& kind, const std::string& step,
                        const std::string& replaces = "NULL") {
    return "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, step, "
           "kind, replaces_certificate_id) VALUES (" +
           id(c) + ", " + id(domain) + ", 1, 'https://ca.test/o/" + std::string(1, c) +
           "', 'https://ca.test/f', '" + step + "', '" + kind + "', " + replaces + ");";
}

std::string insertChallenge(char order, const std::string& value) {
    return "INSERT INTO acme_challenges (order_id, authorization_url, challenge_url, token, "
           "txt_name, txt_value) VALUES (" +
           id(order) + ", 'https://ca.test/a/" + value +
           "', 'https://ca.test/c', 't', "
           "'_acme-challenge.example', '" +
           value + "');";
}

// Kept rows against computed ones: "" when they agree, else the domains that differ.
std::string viewsDisagree(ScratchDatabase& scratch) {
    return scratch.text(
        "SELECT string_agg(left(coalesce(s.domain_id, v.domain_id), 1), ',') "
        "FROM (SELECT * FROM domain_view_source WHERE cert_id IS NOT NULL OR live_id IS NOT NULL "
        "      OR renewal_error IS NOT NULL) s "
        "FULL JOIN domain_views v ON v.domain_id = s.domain_id "
        "WHERE (s.domain_id IS NULL AND (v.cert_id IS NOT NULL OR v.live_id IS NOT NULL "
        "       OR v.renewal_error IS NOT NULL)) "
        "   OR (s.domain_id IS NOT NULL AND v IS DISTINCT FROM s::domain_views)");
}

}  // namespace

TEST_CASE("domain views: kept by triggers through every change, and from rows already there") {
    ScratchDatabase scratch("dnsh_views");
    scratch.migrate("009_current_certificate_index");
    // Before the upgrade: an active domain renewed once with a renewal failing now, a domain
    // waiting for DNS with its challenge.
    scratch.run(
        "INSERT INTO acme_accounts (id, directory_url, account_url, key_ciphertext, key_id) "
        "VALUES (1, 'https://ca.test/dir', 'https://ca.test/acct/1', 'sealed', 'k');" +
        insertDomain('a', "active") + insertCertificate('1', 'a', 100) +
        insertCertificate('2', 'a', 10) + insertOrder('3', 'a', "renewal", "await_dns", id('2')) +
        "UPDATE acme_orders SET status = 'invalid', error = 'CA said no', error_code = 'acme' "
        "WHERE id = " +
        id('3') + ";" + insertDomain('b', "certificate_pending") +
        insertOrder('4', 'b', "issue", "await_dns") + insertChallenge('4', "v1"));
    scratch.migrate();
    CHECK(scratch.text("SELECT renewal_error FROM domain_views WHERE domain_id = " + id('a')) ==
          "CA said no");
    CHECK(scratch.text("SELECT live_challenges FROM domain_views WHERE domain_id = " + id('b')) ==
          R"([["_acme-challenge.example", "v1"]])");

    struct Step {
        std::string description, sql;
    };
    const std::vector<Step> steps{
        {"upgraded from rows already there", ""},
        {"a second challenge on the waiting order", insertChallenge('4', "v2")},
        {"the order moves on to the CA's validation",
         "UPDATE acme_orders SET step = 'await_authz' WHERE id = " + id('4') + ";"},
        {"a lease and an attempt change nothing shown",
         "UPDATE acme_orders SET attempts = attempts + 1, lease_owner = 'r1' WHERE id = " +
             id('4') + ";"},
        {"the order finalizes",
         "UPDATE acme_orders SET step = 'finalize' WHERE id = " + id('4') + ";"},
        {"issued: certificate stored, order valid",
         insertCertificate('5', 'b', 0) +
             "UPDATE acme_orders SET status = 'valid', step = 'done' WHERE id = " + id('4') +
             "; UPDATE domains SET status = 'active' WHERE id = " + id('b') + ";"},
        {"a renewal placed for a", insertOrder('6', 'a', "renewal", "await_dns", id('2'))},
        {"its challenge", insertChallenge('6', "r1")},
        {"renewal scheduled sooner",
         "UPDATE certificates SET renew_at = now() WHERE id = " + id('2') + ";"},
        {"the renewal fails",
         "UPDATE acme_orders SET status = 'invalid', error = 'timed out', error_code = "
         "'dns_timeout' WHERE id = " +
             id('6') + ";"},
        {"renewed: the new certificate replaces the failing one", insertCertificate('7', 'a', 0)},
        {"a challenge deleted", "DELETE FROM acme_challenges WHERE txt_value = 'v1';"},
        {"an order deleted", "DELETE FROM acme_orders WHERE id = " + id('6') + ";"},
        {"the current certificate deleted", "DELETE FROM certificates WHERE id = " + id('7') + ";"},
        {"a domain deleted with everything", "DELETE FROM domains WHERE id = " + id('b') + ";"},
        {"a rolled back change leaves nothing", "BEGIN; " + insertDomain('c', "verified") +
                                                    insertOrder('8', 'c', "issue", "place_order") +
                                                    " ROLLBACK;"},
    };
    for (const auto& step : steps) {
        CAPTURE(step.description);
        if (!step.sql.empty()) scratch.run(step.sql);
        CHECK(viewsDisagree(scratch) == "");
    }
    CHECK(scratch.text("SELECT count(*) FROM domain_views WHERE domain_id = " + id('b')) == "0");
}
