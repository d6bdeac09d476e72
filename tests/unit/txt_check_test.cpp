#include "dns/txt_check.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace dnsh;

namespace {

// `fill` '\x01': every byte one that needs an escape (4 bytes shown, 5 in JSON).
TxtCheck hostileCheck(std::size_t values, std::size_t valueBytes, std::size_t servers, char fill) {
    const std::string value(valueBytes, fill);
    TxtCheck check;
    check.name = "_acme-challenge." + std::string(200, 'a') + ".example";
    check.expected = {std::string(43, 'v'), std::string(43, 'w')};
    check.seen.assign(values, value);
    check.failure = FailureCode::TxtMismatch;
    check.zone = std::string(253, '\x01');
    for (std::size_t i = 0; i < servers; ++i)
        check.servers.push_back({std::string(253, '\x01'), std::string(300, '\x01'),
                                 FailureCode::DnsAddressNotAllowed,
                                 std::vector<std::string>(values, value), AddressAsked::Asked});
    check.nameserversNotAsked = 1000;
    check.addressesNotAsked = 1000;
    return check;
}

}  // namespace

TEST_CASE("txtCheckJson keeps at most the capped values, marks what it left out, stays bounded") {
    struct Case {
        std::string description;
        std::size_t values, valueBytes, servers;
        char fill;
        bool truncated;
    };
    const std::vector<Case> cases{
        {"one ACME-sized value: nothing cut, no marker", 1, 43, 0, 'x', false},
        {"the cap exactly", kMaxSeenValues, 100, 0, 'x', false},
        {"one escaped byte too many", 1, 26, 0, '\x01', true},
        {"200 values of 251 bytes (the reproduction)", 200, 251, 0, 'x', true},
        {"one value longer than shown", 1, 200, 0, 'x', true},
        {"the worst the precheck can list, and more", 100000, 255, 100, '\x01', true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string json =
            txtCheckJson(hostileCheck(c.values, c.valueBytes, c.servers, c.fill));
        MESSAGE(c.description << ": " << json.size() << " bytes");
        // Stored with checked_at and next_check_at appended (domain/check_times.hpp).
        CHECK(json.size() + kCheckTimesBytes <= kMaxCheckJsonBytes);
        const auto object = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
        const auto seen = object->getArray("seen");
        REQUIRE(seen);
        CHECK(seen->size() == std::min(c.values, kMaxSeenValues));
        CHECK(object->optValue<bool>("seen_truncated", false) == c.truncated);
        CHECK(object->optValue<Poco::Int64>("seen_total", 0) ==
              (c.truncated ? static_cast<Poco::Int64>(c.values) : 0));
        for (std::size_t i = 0; i < seen->size(); ++i) {
            const std::string value = seen->getElement<std::string>(static_cast<unsigned>(i));
            CHECK(value.size() <= kMaxShownValueBytes);
            CHECK(value.find('\x01') == std::string::npos);
        }
        if (c.servers > 0) {
            const auto servers = object->getArray("nameservers");
            REQUIRE(servers);
            CHECK(servers->size() == kMaxListedNameservers);
            const auto first = servers->getObject(0);
            CHECK(first->getArray("seen")->size() == kMaxNameserverSeenValues);
            CHECK(first->optValue<bool>("seen_truncated", false));
            CHECK(first->getValue<std::string>("nameserver").size() <= kMaxShownNameBytes);
        }
    }
}

TEST_CASE("redacted masks the token wherever it stands as a value, each nameserver's answer too") {
    const std::string token(64, 'b');
    TxtCheck check;
    check.name = "_acme-challenge.shop.example.com";
    check.expected = {std::string(43, 'v')};
    check.seen = {token, "other"};
    check.failure = FailureCode::TxtMismatch;
    check.zone = "example.com";
    check.servers = {{"ns1.example.com", "192.0.2.1", FailureCode::TxtMismatch, {"other", token},
                      AddressAsked::Asked},
                     {"ns2.example.com", "192.0.2.2", FailureCode::TxtMismatch, {token},
                      AddressAsked::Asked}};
    const TxtCheck shown = redacted(check, token, kTokenPlaceholder);
    CHECK(shown.seen == std::vector<std::string>{kTokenPlaceholder, "other"});
    CHECK(shown.servers[0].seen == std::vector<std::string>{"other", kTokenPlaceholder});
    CHECK(shown.servers[1].seen == std::vector<std::string>{kTokenPlaceholder});
    CHECK(shown.expected == check.expected);
    CHECK(shown.failure == check.failure);
    CHECK(txtCheckJson(shown).find(token) == std::string::npos);
}

TEST_CASE("withoutToken replaces every occurrence, and nothing when there is no token") {
    const std::string token(64, 'c');
    CHECK(withoutToken("[\"" + token + "\",\"x" + token + token + "\"]", token) ==
          std::string("[\"") + kTokenPlaceholder + "\",\"x" + kTokenPlaceholder +
              kTokenPlaceholder + "\"]");
    CHECK(withoutToken("{\"seen\":[\"\"]}", "") == "{\"seen\":[\"\"]}");
}
