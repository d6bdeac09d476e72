// The CA's own strings, each 100,000 bytes, against the stand-in CA tests/support/stalled_ca.py
// --long-strings: what the ACME client keeps of them is what the service could use, within its
// bound (acme/client.hpp, acme/ari.hpp), before anything stores, shows or logs it. A problem
// document's text is ca_problem_text_test's.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "acme/ari.hpp"
#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "crypto/keys.hpp"
#include "fault/ca_refusal.hpp"
#include "issuance/profiles.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

constexpr std::size_t kLongBytes = 100'000;  // stalled_ca_acme.py's LONG_BYTES

}  // namespace

TEST_CASE("CA long strings: the directory's profiles are the names newOrder could carry, "
          "listed ten at most, their descriptions cut") {
    StalledCa ca({"--stall", "none", "--long-strings"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const acme::Directory& directory = client.directory();
    // Before: the 100,000-byte name was an offered profile, named in every invalidProfile error.
    CHECK(directory.profiles.count(std::string(kLongBytes, 'p')) == 0);
    CHECK(directory.profiles.count("default") == 1);
    CHECK(directory.profiles.size() == 2001);
    // Before: the description was 6,000 bytes of terminal escapes.
    CHECK(directory.profiles.at("default").size() <= acme::kMaxProfileDescriptionBytes);

    // Before: the list was 100 KB long with the long name, 24 KB with the 2,000 others alone.
    const std::string offered = offeredProfiles(directory);
    INFO(offered.substr(0, 300));
    CHECK(offered.size() < 1024);
    CHECK(offered.find("and 1991 more") != std::string::npos);
    try {
        requireOffered(directory, OrderProfile{"shortlived", true});
        FAIL("a profile the stand-in does not offer was taken");
    } catch (const acme::AcmeError& e) {
        CHECK(e.is(acme::ProblemType::kInvalidProfile));
        CHECK(e.problem().detail.size() < 1024);  // it becomes the domain's error
    }
}

TEST_CASE("CA long strings: caaIdentities keeps only issuer domain names of at most 253 bytes") {
    StalledCa ca({"--stall", "none", "--long-strings"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    // Before: all three, the 100,005-byte one named in CAA descriptions and suggested records
    // and stored as the account's _validation-persist issuer.
    const std::vector<std::string> identities = client.directory().caaIdentities;
    REQUIRE(identities.size() == 1);
    CHECK(identities.front() == "stand-in.test");
}

TEST_CASE("CA long strings: an order's profile echo that is no profile name is dropped") {
    StalledCa ca({"--stall", "none", "--long-strings"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    const acme::Order order = client.newOrder({"long-strings.example"}, "", "default");
    // Before: the 100,000-byte echo, as the order's profile.
    CHECK(order.profile.empty());
    CHECK(order.authorizations.size() == 1);
}

TEST_CASE("CA long strings: a failed request to a CA URL of 2,000 bytes names it cut") {
    StalledCa ca({"--stall", "none", "--long-strings"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    const acme::Order order = client.newOrder({"long-strings.example"}, "", "default");
    REQUIRE(order.authorizations.size() == 1);
    // A URL the client takes (acme::kMaxCaUrlBytes; a longer one: ca_order_shape_test).
    REQUIRE(order.authorizations.front().size() > 2000);
    try {
        client.getAuthorization(order.authorizations.front());  // port 1: nothing answers
        FAIL("the authorization at port 1 was read");
    } catch (const acme::AcmeError& e) {
        INFO(e.problem().detail.substr(0, 600));
        CHECK(e.unreachable());
        // Before: the whole URL, 2 KB (100 KB before URLs were bounded), in the detail that
        // becomes the domain's error.
        CHECK(e.problem().detail.size() <= 2 * acme::kMaxProblemInstanceBytes + 8);
        CHECK(e.problem().detail.find("https://127.0.0.1:1/authz/") != std::string::npos);
    }
}

TEST_CASE("CA long strings: renewalInfo's explanationURL of 100,000 bytes is dropped, its window "
          "kept") {
    StalledCa ca({"--stall", "none", "--long-strings", "--renewal-info", "window"});
    acme::Transport transport = makeStandInTransport();
    acme::Client client(transport, ca.directory());
    // The stand-in answers any CertID; RFC 9773 §4.1's shape is enough.
    const acme::HttpReply reply = client.getRenewalInfo("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    REQUIRE(reply.body.size() > kLongBytes);
    const acme::RenewalWindow window = acme::parseRenewalInfo(reply.body);
    // Before: the whole 100,026-byte URL.
    CHECK(window.explanationUrl.empty());
    CHECK(window.start < window.end);
}
