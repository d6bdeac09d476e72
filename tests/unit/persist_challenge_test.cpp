// The dns-persist-01 challenge's issuer-domain-names (draft-ietf-acme-dns-persist-00 §3.1).
#include "acme/persist_challenge.hpp"

#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace dnsh;

namespace {

std::vector<std::string> namesOf(const std::string& challengeJson) {
    const auto json = Poco::JSON::Parser().parse(challengeJson).extract<Poco::JSON::Object::Ptr>();
    return acme::parseIssuerDomainNames(*json);
}

std::string listOf(int count) {
    std::string list;
    for (int i = 0; i < count; ++i)
        list += (i == 0 ? "\"" : ",\"") + std::to_string(i) + ".ca.example\"";
    return "[" + list + "]";
}

}  // namespace

TEST_CASE("persist challenge: issuer-domain-names as the CA lists them") {
    // The draft's example challenge object (§3.1).
    CHECK(namesOf(R"({"type":"dns-persist-01","url":"https://ca.example/acme/authz/1234/0",
                      "status":"pending",
                      "issuer-domain-names":["authority.example","ca.example.net"]})") ==
          std::vector<std::string>{"authority.example", "ca.example.net"});
    // Pebble's: an empty token, its accounturi, one name.
    CHECK(namesOf(R"({"type":"dns-persist-01","url":"u","token":"","status":"pending",
                      "accounturi":"https://127.0.0.1:14000/my-account/1",
                      "issuer-domain-names":["pebble.letsencrypt.org"]})") ==
          std::vector<std::string>{"pebble.letsencrypt.org"});
    CHECK(namesOf(R"({"issuer-domain-names":)" + listOf(10) + "}").size() == 10);
    // Other challenge types have none.
    CHECK(namesOf(R"({"type":"dns-01","url":"u","token":"t","status":"pending"})").empty());
}

TEST_CASE("persist challenge: a list a client must reject leaves none (section 3.1)") {
    for (const std::string& list :
         {std::string("[]"), listOf(11), std::string(R"(["ok.example", 5])"),
          std::string(R"(["ok.example", ""])"), std::string(R"("ca.example")"),
          "[\"" + std::string(254, 'a') + "\"]"}) {
        CAPTURE(list);
        CHECK(namesOf(R"({"type":"dns-persist-01","issuer-domain-names":)" + list + "}").empty());
    }
    CHECK(namesOf("{\"issuer-domain-names\":[\"" + std::string(253, 'a') + "\"]}").size() == 1);
}
