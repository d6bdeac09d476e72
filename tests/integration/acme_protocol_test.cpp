// The RFC 8555 details the real Pebble of deploy/test can show: its profiles
// (draft-ietf-acme-profiles) and their invalidProfile problem, a rejectedIdentifier problem with
// one subproblem per refused name (RFC 8555 §6.7.1; Pebble's domainBlocklist, deploy/lib/stack.sh)
// logged with its identifier, and userActionRequired (§7.3.3: an account that has not agreed to
// the terms) naming where to act.
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "acme/client.hpp"
#include "crypto/keys.hpp"
#include "issuance/acme_account.hpp"
#include "support/test_env.hpp"
#include "support/captured_stderr.hpp"

using namespace dnsh;
using namespace dnsh::test;
using dnsh::test::requireEnv;

namespace {

acme::Transport makeTransport() {
    return acme::Transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(10));
}

}  // namespace

TEST_CASE("acme protocol: Pebble's profiles, newOrder naming one, and invalidProfile") {
    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY"));
    const auto& profiles = client.directory().profiles;
    CHECK(profiles.count("default") == 1);
    CHECK(profiles.count("shortlived") == 1);

    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    CHECK(client.newOrder({"profile-short.example"}, "", "shortlived").profile == "shortlived");
    CHECK(client.newOrder({"profile-default.example"}, "", "default").profile == "default");
    try {
        client.newOrder({"profile-none.example"}, "", "no-such-profile");
        FAIL("newOrder accepted a profile the CA does not offer");
    } catch (const acme::AcmeError& e) {
        CHECK(e.is(acme::ProblemType::kInvalidProfile));
        CHECK(std::string(toString(failureCodeOf(e))) == "invalid_profile");
        CHECK_FALSE(e.retryable());
    }
}

TEST_CASE("acme protocol: subproblems are logged with the identifier each is about") {
    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY"));
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    std::string problemType;
    const std::string log = capturedStderr([&] {
        try {
            client.newOrder({"shop.blocked-by-policy.test"});
        } catch (const acme::AcmeError& e) {
            problemType = e.problem().type;
        }
    });
    CHECK(problemType == "urn:ietf:params:acme:error:rejectedIdentifier");
    INFO("log: " << log);
    CHECK(log.find("\"acme subproblem\"") != std::string::npos);
    CHECK(log.find("\"identifier\":\"dns:shop.blocked-by-policy.test\"") != std::string::npos);
    CHECK(log.find("\"subproblem_type\":\"urn:ietf:params:acme:error:rejectedIdentifier\"") !=
          std::string::npos);
}

TEST_CASE("acme protocol: userActionRequired names where a person has to act") {
    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY"));
    const std::string newAccount = client.directory().newAccount;
    const Pkey key = generateEcdsaP256Key();
    // RFC 8555 §7.3.3: an account that does not agree to the terms; Pebble answers
    // userActionRequired with Link: <terms>;rel="terms-of-service" and no instance.
    try {
        transport.post(newAccount, R"({"termsOfServiceAgreed":false})", key.get(), std::nullopt);
        FAIL("Pebble accepted an account that did not agree to its terms");
    } catch (const acme::AcmeError& e) {
        CHECK(e.is(acme::ProblemType::kUserActionRequired));
        INFO("detail: " << e.problem().detail);
        CHECK(e.problem().detail.find(
                  "the CA needs a person to act at data:text/plain,Do%20what%20thou%20wilt") !=
              std::string::npos);
    }
}
