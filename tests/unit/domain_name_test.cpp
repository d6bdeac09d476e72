// Domain name normalisation and validation (README "API": lower case, no trailing dot, IDNs
// to A-labels, lengths, LDH labels, at least two labels, not an IP address), the TXT
// challenge name and domain ids.
#include "domain/domain_name.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "dns/persist_record.hpp"

using namespace dnsh;

namespace {

// "aaa...a" of `length` characters: a valid LDH label when length <= 63.
std::string label(std::size_t length, char fill = 'a') {
    return std::string(length, fill);
}

// Labels of 63 characters joined by dots, then one last label to reach exactly `total` characters.
std::string nameOfLength(std::size_t total) {
    std::string name;
    while (total - name.size() > 64) name += label(63) + ".";
    name += label(total - name.size(), 'b');
    return name;
}

}  // namespace

TEST_CASE("normalizeDomainName accepts good names and normalises them") {
    struct Case {
        std::string description;
        std::string input;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"already normal", "example.com", "example.com"},
        {"upper case lowered", "EXAMPLE.COM", "example.com"},
        {"wildcard", "*.Example.COM", "*.example.com"},
        {"wildcard with trailing dot", "*.example.com.", "*.example.com"},
        {"wildcard of an IDN", "*.bücher.example", "*.xn--bcher-kva.example"},
        {"wildcard of 233 characters after *.", "*." + nameOfLength(233),
         "*." + nameOfLength(233)},
        {"mixed case lowered", "Example.Com", "example.com"},
        {"trailing dot removed", "example.com.", "example.com"},
        {"upper case and trailing dot", "WWW.Example.COM.", "www.example.com"},
        {"subdomain kept", "a.b.c.example.com", "a.b.c.example.com"},
        {"digits and inner hyphens", "my-shop-24.example.co.uk", "my-shop-24.example.co.uk"},
        {"single-character labels", "a.b.co", "a.b.co"},
        {"digits allowed in non-top labels", "123.example.com", "123.example.com"},
        {"IDN to A-label", "Bücher.example", "xn--bcher-kva.example"},
        {"ideographic full stop as the trailing dot (UTS #46 maps it)", "example.com\u3002",
         "example.com"},
        {"ideographic full stop between labels", "b\u00fccher\u3002example",
         "xn--bcher-kva.example"},
        {"IDN lower-case input", "bücher.example", "xn--bcher-kva.example"},
        {"IDN upper-case U-label folded (UTS #46)", "BÜCHER.example", "xn--bcher-kva.example"},
        {"non-ASCII capital folded (UTS #46)", "ÉXAMPLE.com", "xn--xample-9ua.com"},
        {"IDN with trailing dot", "münchen.de.", "xn--mnchen-3ya.de"},
        {"eszett kept (IDNA 2008 non-transitional)", "straße.de", "xn--strae-oqa.de"},
        {"CJK label", "例え.jp", "xn--r8jz45g.jp"},
        {"full-width letters mapped (UTS #46)", "ｅｘａｍｐｌｅ.com", "example.com"},
        {"already an A-label kept", "xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"upper-case A-label lowered", "XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"},
        {"A-label in a subdomain", "shop.xn--mnchen-3ya.de", "shop.xn--mnchen-3ya.de"},
        {"label of exactly 63 characters", label(63) + ".com", label(63) + ".com"},
        {"name of exactly 233 characters", nameOfLength(233), nameOfLength(233)},
        {"233 characters plus trailing dot", nameOfLength(233) + ".", nameOfLength(233)},
        {"digits in the top-level label next to letters", "example.c0m", "example.c0m"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.input);
        std::string result;
        REQUIRE_NOTHROW(result = normalizeDomainName(c.input));
        CHECK(result == c.expected);
    }
}

TEST_CASE("normalizeDomainName rejects bad names with BadRequest \"invalid domain_name...\"") {
    struct Case {
        std::string description;
        std::string input;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"just a dot", "."},
        {"two dots", ".."},
        {"one label", "com"},
        {"one label with trailing dot", "com."},
        {"empty label in the middle", "a..b.com"},
        {"leading dot", ".a.com"},
        {"two trailing dots", "example.com.."},
        {"IDN with two trailing dots", "b\u00fccher.example.."},
        {"IDN with a dot and an ideographic full stop", "b\u00fccher.example.\u3002"},
        {"label starts with hyphen", "-a.com"},
        {"label ends with hyphen", "a-.com"},
        {"top-level label ends with hyphen", "example.com-"},
        {"label of 64 characters", label(64) + ".com"},
        // _acme-challenge.<name> / _validation-persist.<name> would be over 253 characters.
        {"name of 234 characters", nameOfLength(234)},
        {"name of 234 characters plus trailing dot", nameOfLength(234) + "."},
        {"name of 253 characters", nameOfLength(253)},
        {"wildcard of 234 characters after *.", "*." + nameOfLength(234)},
        {"wildcard of 253 characters", "*." + nameOfLength(251)},
        {"name of 254 characters", nameOfLength(254)},
        {"name of 255 characters", nameOfLength(255)},
        {"name of 254 characters plus trailing dot", nameOfLength(254) + "."},
        {"space inside", "exa mple.com"},
        {"leading space", " example.com"},
        {"trailing space", "example.com "},
        {"tab inside", "exa\tmple.com"},
        {"newline at end", "example.com\n"},
        {"underscore", "exa_mple.com"},
        {"URL with scheme", "http://example.com"},
        {"path", "example.com/path"},
        {"e-mail address", "user@example.com"},
        {"port", "example.com:443"},
        {"IPv4 address", "192.0.2.1"},
        {"IPv4 address with trailing dot", "192.0.2.1."},
        {"IPv6 loopback", "::1"},
        {"bracketed IPv6", "[::1]"},
        {"IPv6 documentation address", "2001:db8::1"},
        {"wildcard of a single label", "*.com"},
        {"wildcard of an IP address", "*.192.0.2.1"},
        {"two wildcard labels", "*.*.example.com"},
        {"bare star", "*"},
        {"wildcard over 253 characters", "*." + nameOfLength(252)},
        {"star inside a label", "a*b.example.com"},
        {"star as an inner label", "a.*.example.com"},
        {"hyphens in third and fourth position, not xn--", "ab--cd.com"},
        {"hyphens in third and fourth position in the top-level label", "example.ab--cd"},
        {"invalid punycode A-label", "xn--zz.com"},
        {"bare xn-- label", "xn--.com"},
        {"A-label that decodes to a control character", "xn--a.com"},
        {"all-digit top-level label", "example.123"},
        {"all-digit top-level label, one digit", "example.1"},
        {"NUL byte inside", std::string("exam\0ple.com", 12)},
        {"NUL byte at end", std::string("example.com\0", 12)},
        {"2000 characters", std::string(2000, 'a')},
        {"2000 characters of valid labels", nameOfLength(2000)},
        {"1000 characters of valid labels (under the input cap)", nameOfLength(1000)},
        {"percent-encoding", "ex%61mple.com"},
        {"quote", "exam\"ple.com"},
        {"backslash", "exam\\ple.com"},
        {"comma", "example,com"},
        {"semicolon", "example.com;rm"},
        {"control character DEL", "exam\x7fple.com"},
        {"invalid UTF-8", "exam\xff\xfeple.com"},
        {"non-ASCII symbol not allowed by IDNA 2008", "\u2603.example"},
        {"emoji", "\xF0\x9F\x98\x80.example"},
        {"full-width IPv4 (maps to an all-digit top-level label)", "１９２.０.２.１"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.input);
        bool threw = false;
        try {
            const std::string result = normalizeDomainName(c.input);
            CAPTURE(result);
            FAIL_CHECK("accepted a bad name");
        } catch (const Error& e) {
            threw = true;
            CAPTURE(e.what());
            CHECK(e.code() == ErrorCode::BadRequest);
            CHECK(std::string(e.what()).rfind("invalid domain_name", 0) == 0);
        } catch (const std::exception& e) {
            CAPTURE(e.what());
            FAIL_CHECK("threw something other than dnsh::Error");
        }
        CHECK(threw);
    }
}

TEST_CASE("normalizeDomainName: a name over 233 characters is refused, saying why") {
    for (const std::string& input : {nameOfLength(234), "*." + nameOfLength(234)}) {
        CAPTURE(input);
        try {
            normalizeDomainName(input);
            FAIL_CHECK("accepted a name whose challenge names are over 253 characters");
        } catch (const Error& e) {
            const std::string message = e.what();
            CAPTURE(message);
            CHECK(e.code() == ErrorCode::BadRequest);
            CHECK(message.find("is 234 characters") != std::string::npos);
            CHECK(message.find("the limit is 233") != std::string::npos);
            CHECK(message.find("_acme-challenge.<name>") != std::string::npos);
            CHECK(message.find("_validation-persist.<name>") != std::string::npos);
            CHECK(message.find("253") != std::string::npos);
        }
    }
}

TEST_CASE("normalizeDomainName: the longest accepted name's challenge names fit in 253") {
    // RFC 1035 §2.3.4: ldns cannot encode a longer query name, so verify would fail for good.
    for (const std::string& input : {nameOfLength(233), "*." + nameOfLength(233)}) {
        CAPTURE(input);
        const std::string name = normalizeDomainName(input);
        CHECK(baseDomain(name).size() == 233);
        CHECK(challengeName(name).size() <= 253);
        CHECK(("_validation-persist." + baseDomain(name)).size() <= 253);
        CHECK(persistRecordName(name).size() <= 253);
    }
}

TEST_CASE("normalizeDomainName is idempotent on its own output") {
    const std::vector<std::string> inputs{"Example.COM.", "Bücher.example", "ÉXAMPLE.com",
                                          "XN--MNCHEN-3YA.DE", "ｅｘａｍｐｌｅ.com"};
    for (const auto& input : inputs) {
        CAPTURE(input);
        const std::string once = normalizeDomainName(input);
        CHECK(normalizeDomainName(once) == once);
    }
}

TEST_CASE("challengeName prefixes _acme-challenge (RFC 8555 §8.4)") {
    struct Case {
        std::string description;
        std::string domain;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"plain", "example.com", "_acme-challenge.example.com"},
        {"subdomain", "www.example.com", "_acme-challenge.www.example.com"},
        {"A-label", "xn--bcher-kva.example", "_acme-challenge.xn--bcher-kva.example"},
        {"wildcard: its base name", "*.example.com", "_acme-challenge.example.com"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(challengeName(c.domain) == c.expected);
    }
}

TEST_CASE("certificateNames: a wildcard covers itself and its base name") {
    struct Case {
        std::string description;
        std::string domain;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases{
        {"plain name", "www.example.com", {"www.example.com"}},
        {"wildcard", "*.example.com", {"*.example.com", "example.com"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(certificateNames(c.domain) == c.expected);
        CHECK(isWildcard(c.domain) == (c.expected.size() == 2));
        CHECK(baseDomain(c.domain) == c.expected.back());
    }
}

TEST_CASE("isDomainId accepts exactly 32 lowercase hex characters") {
    struct Case {
        std::string description;
        std::string text;
        bool expected;
    };
    const std::vector<Case> cases{
        {"32 lowercase hex", "0123456789abcdef0123456789abcdef", true},
        {"all zeros", std::string(32, '0'), true},
        {"all f", std::string(32, 'f'), true},
        {"upper case hex", "0123456789ABCDEF0123456789ABCDEF", false},
        {"one upper-case letter", "0123456789abcdef0123456789abcdeF", false},
        {"31 characters", std::string(31, 'a'), false},
        {"33 characters", std::string(33, 'a'), false},
        {"64 characters (a token, not an id)", std::string(64, 'a'), false},
        {"empty", "", false},
        {"non-hex letter g", "0123456789abcdef0123456789abcdeg", false},
        {"dash inside (UUID style)", "01234567-89ab-cdef-0123-456789abcd", false},
        {"space at end", "0123456789abcdef0123456789abcde ", false},
        {"NUL at end", std::string("0123456789abcdef0123456789abcde\0", 32), false},
        {"path traversal", "../../../../../../../etc/passwd..", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        CHECK(isDomainId(c.text) == c.expected);
    }
}
