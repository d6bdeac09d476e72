// JsonText builds the domain views' text directly: it must be the JSON a Poco::JSON::Object tree
// would have printed, commas and nesting included, whatever the strings hold.
#include "core/json_text.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "domain/domain_json.hpp"

using namespace dnsh;

TEST_CASE("JsonText: the same text as a Poco::JSON tree with the same members") {
    const std::string hostile = "q\"b\\s/\n\t\x01 \xc3\xa9 \xe2\x82\xac";
    Poco::JSON::Object::Ptr tree = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    tree->set("a", hostile);
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    Poco::JSON::Object::Ptr item = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    item->set("x", std::string("1"));
    item->set("y", std::string("2"));
    list->add(item);
    list->add(Poco::JSON::Object::Ptr(new Poco::JSON::Object));
    tree->set("list", list);
    tree->set("empty", Poco::JSON::Array::Ptr(new Poco::JSON::Array));
    tree->set("none", Poco::Dynamic::Var());
    std::ostringstream expected;
    tree->stringify(expected);

    JsonText json;
    json.beginObject().member("a", hostile).key("list").beginArray();
    json.beginObject().member("x", "1").member("y", "2").endObject();
    json.beginObject().endObject();
    json.endArray().key("empty").beginArray().endArray().key("none").null().endObject();
    CHECK(json.take() == expected.str());
}

TEST_CASE("isPlainJsonString: every byte value at every place of strings up to 17 bytes long") {
    // The definition, one byte at a time (RFC 8259 §7: controls, '"' and '\\' are escaped; bytes
    // from 0x7f on are left to the escaper too).
    auto plainByte = [](unsigned char byte) {
        return byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\';
    };
    int checked = 0;
    for (std::size_t length = 1; length <= 17; ++length)
        for (std::size_t place = 0; place < length; ++place)
            for (int value = 0; value < 256; ++value) {
                // Around it the plain bytes nearest the edges: '!' (0x21) and '~' (0x7e).
                std::string text(length, place % 2 == 0 ? '~' : '!');
                text[place] = static_cast<char>(value);
                if (isPlainJsonString(text) != plainByte(static_cast<unsigned char>(value))) {
                    FAIL_CHECK("length " << length << ", byte " << value << " at " << place);
                }
                ++checked;
            }
    CHECK(checked == 39168);
    CHECK(isPlainJsonString(""));
    CHECK(isPlainJsonString("_acme-challenge.shop.example.com"));
    CHECK_FALSE(isPlainJsonString("Create a TXT record with value \"v\" here"));
}

TEST_CASE("JsonText: raw text goes in as one value, with the commas around it") {
    const std::string text = JsonText()
                                 .beginObject()
                                 .member("type", "t")
                                 .key("data")
                                 .raw(R"({"k":[1,2]})")
                                 .member("after", "z")
                                 .endObject()
                                 .take();
    CHECK(text == R"({"type":"t","data":{"k":[1,2]},"after":"z"})");
}

TEST_CASE("domainJson: an unreadable stored check is left out, a readable one kept as stored") {
    Domain domain;
    domain.id = std::string(32, 'a');
    domain.domainName = "shop.example.com";
    domain.verificationToken = std::string(64, 'b');
    domain.status = DomainStatus::Pending;
    domain.createdAt = domain.updatedAt = "2026-11-27T00:00:00Z";
    domain.lastCheck = R"({"name":"_acme-challenge.shop.example.com","result":"missing"})";
    CHECK(domainJson(domain, ViewSettings{}) ==
          R"({"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","domain_name":"shop.example.com",)"
          R"("status":"pending","created_at":"2026-11-27T00:00:00Z",)"
          R"("updated_at":"2026-11-27T00:00:00Z",)"
          R"("checks":{"name":"_acme-challenge.shop.example.com","result":"missing"}})");
    domain.lastCheck = R"({"name": broken)";
    CHECK(domainJson(domain, ViewSettings{}).find("checks") == std::string::npos);
}

TEST_CASE("domainJson: the domain's own token in a stored check is shown as the placeholder") {
    Domain domain;
    domain.id = std::string(32, 'a');
    domain.domainName = "shop.example.com";
    domain.verificationToken = std::string(64, 'b');
    domain.status = DomainStatus::CertificatePending;
    domain.createdAt = domain.updatedAt = "2026-11-27T00:00:00Z";
    // A row stored before the scheduler's checks were masked: seen, and a nameserver's seen.
    const std::string& token = domain.verificationToken;
    domain.lastCheck = R"({"name":"_acme-challenge.shop.example.com","seen":[")" + token +
                       R"("],"result":"txt_mismatch","nameservers":[{"seen":[")" + token +
                       R"("]}]})";
    const std::string view = domainJson(domain, ViewSettings{});
    CHECK(view.find(token) == std::string::npos);
    CHECK(view.find(R"x("seen":["(the verification token)"],"result":"txt_mismatch")x") !=
          std::string::npos);
    CHECK(domainPageJson({domain}, std::nullopt, ViewSettings{}).find(token) == std::string::npos);
}
