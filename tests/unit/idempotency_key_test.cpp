// The Idempotency-Key field of POST /domains: an sf-string (draft-ietf-httpapi-idempotency-key-
// header-06 §2.1, RFC 8941 §3.3.3 and §4.2.5) of 1-255 printable ASCII characters, else 400.
#include "http/idempotency_key.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

using namespace dnsh;

namespace {

// `inner` between double quotes (appended: GCC 12 warns, -Wrestrict, on `"\"" + std::string`).
std::string sfString(const std::string& inner) {
    std::string field = "\"";
    field += inner;
    field += '"';
    return field;
}

}  // namespace

TEST_CASE("Idempotency-Key: a Structured Field String gives its characters, escapes undone") {
    struct Case {
        std::string description;
        std::string field;
        std::string key;
    };
    const std::vector<Case> cases{
        {"the draft's example, a UUID", R"("8e03978e-40d5-43e8-bc93-6894a57f9324")",
         "8e03978e-40d5-43e8-bc93-6894a57f9324"},
        {"one character", R"("k")", "k"},
        {"spaces inside are characters of the key", R"("a b  c")", "a b  c"},
        {"an escaped double quote", R"("a\"b")", R"(a"b)"},
        {"an escaped backslash", R"("a\\b")", R"(a\b)"},
        {"SP before and after the Item (RFC 8941 §4.2)", R"(  "k"  )", "k"},
        {"every printable ASCII character", R"(" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~")",
         R"( !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~)"},
        {"255 characters", sfString(std::string(255, 'k')), std::string(255, 'k')},
        {"255 characters, escaped ones counted once",
         sfString(std::string(254, 'k') + "\\\""), std::string(254, 'k') + "\""},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        const auto key = parseIdempotencyKey(c.field);
        REQUIRE(key.has_value());
        CHECK(*key == c.key);
    }
}

TEST_CASE("Idempotency-Key: no field, or an empty one, is no key") {
    // lighttpd drops a field with an empty value: the handler cannot tell it from none.
    CHECK_FALSE(parseIdempotencyKey("").has_value());
}

TEST_CASE("Idempotency-Key: anything but one sf-string of 1-255 printable ASCII is 400") {
    struct Case {
        std::string description;
        std::string field;
        std::string reason;
    };
    const std::vector<Case> cases{
        {"a token, not a String", "8e03978e-40d5-43e8-bc93-6894a57f9324", "not a String"},
        {"single quotes", "'k'", "not a String"},
        {"only spaces", "   ", "not a String"},
        {"no closing quote", R"("k)", "no closing double quote"},
        {"a lone double quote", R"(")", "no closing double quote"},
        {"the closing quote escaped", R"("k\")", "no closing double quote"},
        {"an empty String", R"("")", "is empty"},
        {"256 characters", sfString(std::string(256, 'k')), "longer than 255"},
        {"a very long field", sfString(std::string(100000, 'k')), "longer than 255"},
        {"an escape of another character", R"("a\nb")", "escapes a character"},
        {"a backslash at the end", "\"k\\", "escapes a character"},
        {"a tab inside", "\"a\tb\"", "not printable ASCII"},
        {"DEL inside", "\"a\x7f" "b\"", "not printable ASCII"},
        {"UTF-8 inside", "\"cl\xc3\xa9\"", "not printable ASCII"},
        {"a NUL inside", std::string("\"a\0b\"", 5), "not printable ASCII"},
        {"parameters", R"("k";a=1)", "takes no parameters"},
        {"parameters after a space", R"("k" ;a)", "takes no parameters"},
        {"two fields joined by lighttpd", R"("a", "b")", "must be one String"},
        {"a second String", R"("a" "b")", "must be one String"},
        {"a tab after the Item (RFC 8941 §4.2 drops SP only)", "\"k\"\t", "must be one String"},
        {"an Inner List", R"(("k"))", "not a String"},
        {"a Byte Sequence", ":aGVsbG8=:", "not a String"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        try {
            parseIdempotencyKey(c.field);
            FAIL_CHECK("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::BadRequest);
            const std::string message = e.what();
            CHECK_MESSAGE(message.find(c.reason) != std::string::npos, message);
            CHECK(message.rfind("Idempotency-Key ", 0) == 0);
            // The field is never quoted back: the message is the same whatever the key was.
            CHECK(message.size() < 300);
        }
    }
}
