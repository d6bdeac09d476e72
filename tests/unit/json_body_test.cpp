// Request bodies: a JSON object with fields of the expected type; everything else BadRequest.
#include "http/json_body.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

using namespace dnsh;

namespace {

// Runs `action`, expecting dnsh::Error(BadRequest); returns its message ("" when it did not throw).
template <typename Action>
std::string badRequestMessage(Action action) {
    try {
        action();
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::BadRequest);
        return e.what();
    } catch (const std::exception& e) {
        CAPTURE(e.what());
        FAIL_CHECK("threw something other than dnsh::Error");
        return "";
    } catch (...) {
        FAIL_CHECK("threw a non-std exception");
        return "";
    }
    FAIL_CHECK("did not throw");
    return "";
}

}  // namespace

TEST_CASE("parseJsonObject accepts JSON objects") {
    struct Case {
        std::string description;
        std::string body;
        std::size_t size;
    };
    const std::vector<Case> cases{
        {"empty object", "{}", 0},
        {"one field", R"({"domain_name":"example.com"})", 1},
        {"whitespace around", " \n{ \"domain_name\" : \"example.com\" }\n ", 1},
        {"nested values", R"({"a":{"b":[1,2]},"c":null})", 2},
        {"same key in different objects", R"({"a":{"x":1},"b":{"x":2}})", 2},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        Poco::JSON::Object::Ptr object;
        REQUIRE_NOTHROW(object = parseJsonObject(c.body));
        REQUIRE(object);
        CHECK(object->size() == c.size);
    }
}

TEST_CASE("parseJsonObject rejects anything but one JSON object") {
    struct Case {
        std::string description;
        std::string body;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"not JSON", "not json"},
        {"array", "[1,2]"},
        {"string", "\"str\""},
        {"number", "42"},
        {"null", "null"},
        {"boolean", "true"},
        {"truncated object", "{\"domain_name\":"},
        {"unclosed object", "{\"domain_name\":\"example.com\""},
        {"only an opening brace", "{"},
        {"only whitespace", "   "},
        {"single quotes", "{'domain_name':'example.com'}"},
        {"unquoted key", "{domain_name:\"example.com\"}"},
        {"trailing comma", "{\"domain_name\":\"example.com\",}"},
        {"duplicate key", R"({"domain_name":"a.com","domain_name":"b.com"})"},
        {"duplicate key in a nested object", R"({"x":{"k":1,"k":2}})"},
        {"NUL byte", std::string("{\0}", 3)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string message = badRequestMessage([&] { parseJsonObject(c.body); });
        CAPTURE(message);
        CHECK_FALSE(message.empty());
    }
}

TEST_CASE("valid JSON that is not an object is named as such, not as invalid JSON") {
    for (const std::string body : {"42", "null", "true", "\"x.example\"", "[1,2]", "  7 "}) {
        CAPTURE(body);
        CHECK(badRequestMessage([&] { parseJsonObject(body); }) ==
              "request body must be a JSON object");
    }
    CHECK(badRequestMessage([&] { parseJsonObject("{\"a\":"); }) ==
          "request body is not valid JSON");
}

TEST_CASE("rejectUnknownFields names the first field the body should not have") {
    // Found by schemathesis: POST /domains ignored unknown members, so a body whose ignored member
    // held a number Poco cannot parse (-390151357507718563670222685863936) answered 400 for a
    // request the document called valid. The document now closes the object, and so does this.
    struct Case {
        std::string description;
        std::string body;
        std::string expectedMessage;  // "" when accepted
    };
    const std::vector<Case> cases{
        {"only the known field", R"({"domain_name":"example.com"})", ""},
        {"an empty object (the required field is checked elsewhere)", "{}", ""},
        {"one more field", R"({"domain_name":"example.com","other":1})",
         "unknown field other in the request body; it has domain_name"},
        {"a misspelt field alone", R"({"domain":"example.com"})",
         "unknown field domain in the request body; it has domain_name"},
        {"an empty name", R"({"domain_name":"example.com","":null})",
         "unknown field  in the request body; it has domain_name"},
        {"a long name, cut to 40 bytes",
         R"({"domain_name":"a.b",")" + std::string(100, 'x') + R"(":1})",
         "unknown field " + std::string(40, 'x') + " in the request body; it has domain_name"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const auto object = parseJsonObject(c.body);
        if (c.expectedMessage.empty()) {
            CHECK_NOTHROW(rejectUnknownFields(object, {"domain_name"}));
        } else {
            CHECK(badRequestMessage([&] { rejectUnknownFields(object, {"domain_name"}); }) ==
                  c.expectedMessage);
        }
    }
}

TEST_CASE("requireStringField returns a string field") {
    const auto object = parseJsonObject(R"({"domain_name":"Example.com","other":1})");
    CHECK(requireStringField(object, "domain_name") == "Example.com");
    const auto empty = parseJsonObject(R"({"domain_name":""})");
    CHECK(requireStringField(empty, "domain_name").empty());
    const auto escaped = parseJsonObject(R"({"domain_name":"B\u00fccher.example"})");
    CHECK(requireStringField(escaped, "domain_name") ==
          "B\xC3\xBC"
          "cher.example");
}

TEST_CASE("requireStringField rejects a missing or non-string field") {
    struct Case {
        std::string description;
        std::string body;
        std::string expectedMessage;
    };
    const std::vector<Case> cases{
        {"missing", R"({"name":"example.com"})", "missing field: domain_name"},
        {"empty object", "{}", "missing field: domain_name"},
        {"number", R"({"domain_name":42})", "field domain_name must be a string"},
        {"null", R"({"domain_name":null})", "field domain_name must be a string"},
        {"object", R"({"domain_name":{"x":"example.com"}})", "field domain_name must be a string"},
        {"array", R"({"domain_name":["example.com"]})", "field domain_name must be a string"},
        {"boolean", R"({"domain_name":true})", "field domain_name must be a string"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const auto object = parseJsonObject(c.body);
        const std::string message =
            badRequestMessage([&] { requireStringField(object, "domain_name"); });
        CHECK(message == c.expectedMessage);
    }
}
