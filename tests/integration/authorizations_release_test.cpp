// Which authorizations a delete gives back (DomainRepository::authorizationsToRelease), on a
// scratch database: the live order's, and of the failed and replaced ones the newest per name and
// CA. A failing "*.x" keeps the valid "x" authorization with its first failure, and each retry
// (the CA reusing "x", RFC 8555 §7.1.4) stores only its new "*.x" row: the "x" row must not fall
// behind the limit. An order replaced past finalize holds only valid authorizations.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/random.hpp"
#include "domain/domain_repository.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

struct Stored {
    std::string identifier, url;
};

class DomainOrders {
public:
    explicit DomainOrders(ScratchDatabase& scratch) : scratch_(scratch), domainId_(randomHex(16)) {
        scratch_.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) "
                     "VALUES ('https://ca.test/directory', 'sealed', 'k')");
        scratch_.run("INSERT INTO domains (id, domain_name, verification_token, status, "
                     "verified_at) VALUES ('" + domainId_ + "', 'rel-" + domainId_ +
                     ".example', '" + std::string(64, 'a') + "', 'verified', now())");
    }

    // An order `minutesAgo` old with its stored challenges.
    void order(const std::string& status, int minutesAgo, const std::vector<Stored>& stored) {
        const std::string orderId = randomHex(16);
        scratch_.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, "
                     "finalize_url, status, step, created_at) VALUES ('" + orderId + "', '" +
                     domainId_ + "', 'issue', (SELECT id FROM acme_accounts), "
                     "'https://ca.test/order/" + orderId + "', 'https://ca.test/finalize/" +
                     orderId + "', '" + status + "', 'await_dns', now() - interval '" +
                     std::to_string(minutesAgo) + " minutes')");
        for (const Stored& challenge : stored)
            scratch_.run("INSERT INTO acme_challenges (order_id, authorization_url, "
                         "challenge_url, token, txt_name, txt_value, identifier) VALUES ('" +
                         orderId + "', '" + challenge.url + "', 'https://ca.test/c', 't', "
                         "'_acme-challenge.x', 'v', '" + challenge.identifier + "')");
    }

    std::set<std::string> released() {
        return scratch_.database().withSession([&](Poco::Data::Session& session) {
            std::set<std::string> urls;
            for (const auto& atCa : DomainRepository(session).authorizationsToRelease(domainId_))
                for (const auto& authorization : atCa.authorizations)
                    urls.insert(authorization.url);
            return urls;
        });
    }

private:
    ScratchDatabase& scratch_;
    std::string domainId_;
};

}  // namespace

TEST_CASE("authorizations to release: a valid one kept by the first of many failures is given "
          "back") {
    ScratchDatabase scratch("dnsh_release_failed");
    scratch.migrate();
    DomainOrders orders(scratch);
    // The first failure: "x" validated (kept), "*.x" pending (already given back).
    orders.order("invalid", 1000, {{"x", "https://ca.test/authz/x"},
                                   {"*.x", "https://ca.test/authz/wild-0"}});
    // Twice the limit of retries failing the same way, "x" reused and not stored.
    const int retries = 2 * DomainRepository::kFailedOrderAuthorizations;
    for (int retry = 1; retry <= retries; ++retry)
        orders.order("invalid", 1000 - retry,
                     {{"*.x", "https://ca.test/authz/wild-" + std::to_string(retry)}});
    const std::set<std::string> released = orders.released();
    INFO(released.size() << " released");
    CHECK(released.count("https://ca.test/authz/x") == 1);
    CHECK(released.count("https://ca.test/authz/wild-" + std::to_string(retries)) == 1);
    const auto limit = static_cast<std::size_t>(DomainRepository::kFailedOrderAuthorizations);
    CHECK(released.size() <= limit);
}

TEST_CASE("authorizations to release: a replaced order's, and the live order's") {
    ScratchDatabase scratch("dnsh_release_replaced");
    scratch.migrate();
    DomainOrders orders(scratch);
    // Expired past finalize and replaced: both valid, reused by the replacement, which stored
    // nothing for them.
    orders.order("replaced", 60, {{"x", "https://ca.test/authz/x"},
                                  {"*.x", "https://ca.test/authz/wild"}});
    orders.order("processing", 1, {{"y", "https://ca.test/authz/y"}});
    const std::set<std::string> released = orders.released();
    const std::set<std::string> expected{"https://ca.test/authz/x", "https://ca.test/authz/wild",
                                         "https://ca.test/authz/y"};
    CHECK(released == expected);
}
