// isJsonObjectText decides whether a stored check is copied into a domain's view: exactly one
// well-formed JSON object, nothing else.
#include "core/json_shape.hpp"

#include <doctest/doctest.h>

using namespace dnsh;

TEST_CASE("isJsonObjectText: one object of any content") {
    CHECK(isJsonObjectText("{}"));
    CHECK(isJsonObjectText(" \n{ } \t"));
    CHECK(isJsonObjectText(R"({"name":"_acme-challenge.example.com","expected":["a"],)"
                           R"("seen":[],"result":null,"n":1,"x":-2.5e3,"ok":true,"no":false,)"
                           R"("big":18446744073709551615,"nested":{"a":[{"b":[]}]}})"));
}

TEST_CASE("isJsonObjectText: any other outermost value is not one") {
    for (const char* text : {"[]", "[{}]", "\"{}\"", "1", "null", "true", "false"}) {
        CAPTURE(text);
        CHECK_FALSE(isJsonObjectText(text));
    }
}

TEST_CASE("isJsonObjectText: text that is not one JSON value is not one") {
    for (const char* text :
         {"", " ", "{", "}", "{\"a\":1", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}",
          "{\"a\":\"cut", "{}{}", "{} []", "{} x", "{\"a\":tru}", "{\"a\":01}"}) {
        CAPTURE(text);
        CHECK_FALSE(isJsonObjectText(text));
    }
}
