// RFC 9773 ACME Renewal Information: the CertID checked against the RFC's Appendix A certificate
// and §4.1 walk-through, RenewalInfo parsing against the §4.2 example, the renewal time picked in
// the window, and the Retry-After limits of §4.3.2/§4.3.3.
#include "acme/ari.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dnsh::acme;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

// RFC 9773 Appendix A, verbatim. AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:
// 2C:DE:01:C8:D4, serial 0x87654321 (DER content 00:87:65:43:21).
const std::string kRfc9773Certificate = R"(-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
)";

// Self-signed, serial 1 (no sign byte needed), AKI keyid:always =
// 74:19:7D:BA:16:80:C2:77:FD:A9:20:21:55:E1:7A:EC:9F:58:3F:05. Made with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -set_serial 1` and
// authorityKeyIdentifier = keyid:always.
const std::string kSerialOneCertificate = R"(-----BEGIN CERTIFICATE-----
MIIBcDCCARWgAwIBAgIBATAKBggqhkjOPQQDAjAfMR0wGwYDVQQDDBRzbWFsbC1z
ZXJpYWwuZXhhbXBsZTAeFw0yNjExMjcxNDEyMDhaFw0zNjExMjQxNDEyMDhaMB8x
HTAbBgNVBAMMFHNtYWxsLXNlcmlhbC5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZI
zj0DAQcDQgAEDNfYlArFPOT9Gn1qOLcIcgVqoailgaRDZ9VgjnUMhI9/I4/vzX86
bSrd9ut1TLSztMYwMmqGG3N138Rk/Klbr6NCMEAwHQYDVR0OBBYEFHQZfboWgMJ3
/akgIVXheuyfWD8FMB8GA1UdIwQYMBaAFHQZfboWgMJ3/akgIVXheuyfWD8FMAoG
CCqGSM49BAMCA0kAMEYCIQCjPpt73RJ1K2vG4I2Kd+fH9zKC47RmXB6F4byYuEKS
/gIhAOXLnmebJo6p7H8l0bWP5st0Wc1P75kHxVU5PLvNKb12
-----END CERTIFICATE-----
)";

// Self-signed, no Authority Key Identifier extension at all (basicConstraints and SKI only).
const std::string kNoAkiCertificate = R"(-----BEGIN CERTIFICATE-----
MIIBTzCB96ADAgECAgISNDAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5uby1ha2ku
ZXhhbXBsZTAeFw0yNjExMjcxNDEyMDhaFw0zNjExMjQxNDEyMDhaMBkxFzAVBgNV
BAMMDm5vLWFraS5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcRL4
9t1pI6wFW2CFsNSy5IDiEubtSusWzahp33CHFHyOwoCef7YIZoEk9lSu3kdAd1UH
Rk3945rW81QK5vMhraMvMC0wDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUeg3JvW9a
y9p1qdsGvcgoHyo5+pAwCgYIKoZIzj0EAwIDRwAwRAIgXGBR6uhKtKQjJb+qCJft
w0oQf3pIUi9xanwNeUeFATsCIEcISZyq3Vj1P4Ai65f0P7eWhYEMCQ+Ktz2L6h/Q
TNHI
-----END CERTIFICATE-----
)";

// Self-signed, AKI present but only authorityCertIssuer + authorityCertSerialNumber
// (authorityKeyIdentifier = issuer:always): no keyIdentifier to build a CertID from.
const std::string kAkiWithoutKeyIdCertificate = R"(-----BEGIN CERTIFICATE-----
MIIBjDCCATKgAwIBAgICEjQwCgYIKoZIzj0EAwIwIjEgMB4GA1UEAwwXYWtpLWlz
c3Vlci1vbmx5LmV4YW1wbGUwHhcNMjYxMTI3MTQxMjA4WhcNMzYxMTI0MTQxMjA4
WjAiMSAwHgYDVQQDDBdha2ktaXNzdWVyLW9ubHkuZXhhbXBsZTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABCzLu7KbpRNweS9vwZJraqRyaSc0U2NwLGozOoPLgKDW
KHs51kU1WjVO1WDOHARoHwzGygviYAfbsBRs2UYad/qjWDBWMDUGA1UdIwQuMCyh
JqQkMCIxIDAeBgNVBAMMF2FraS1pc3N1ZXItb25seS5leGFtcGxlggISNDAdBgNV
HQ4EFgQUrsJfQt+bVLYzmh5heXxApGpGIYEwCgYIKoZIzj0EAwIDSAAwRQIhAID1
S4+MNDvr1QUqetNWVF/M9S98UEBw4T225SiLwwDbAiAP9FuheyDaeCePYunQ+CRt
iivB2r8m4WWKyhb4cmsqdg==
-----END CERTIFICATE-----
)";

system_clock::time_point utc(int year, unsigned month, unsigned day,
                             std::chrono::microseconds timeOfDay = 0us) {
    return std::chrono::sys_days(std::chrono::year(year) / std::chrono::month(month) /
                                 std::chrono::day(day)) +
           timeOfDay;
}

// RFC 9773 §4.2 example window.
const RenewalWindow kRfcWindow{utc(2025, 1, 2, 4h), utc(2025, 1, 3, 4h), ""};

std::string renewalInfo(const std::string& start, const std::string& end) {
    return R"({"suggestedWindow":{"start":")" + start + R"(","end":")" + end + R"("}})";
}

}  // namespace

TEST_CASE("ariCertId matches RFC 9773 §4.1 for the Appendix A certificate and others") {
    struct Case {
        const char* description;
        std::string pem;
        std::string certId;
    };
    const std::vector<Case> cases{
        {"RFC 9773 Appendix A / §4.1: serial 0x87654321 keeps its 00 sign byte",
         kRfc9773Certificate, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"},
        {"serial 1 is the single content octet 01", kSerialOneCertificate,
         "dBl9uhaAwnf9qSAhVeF67J9YPwU.AQ"},
        {"a chain uses its first certificate", kRfc9773Certificate + kSerialOneCertificate,
         "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"},
        {"text before the PEM block is skipped", "subject=CN = example.com\n" + kRfc9773Certificate,
         "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(ariCertId(c.pem) == c.certId);
    }
}

TEST_CASE("ariCertId throws when there is no certificate or no AKI keyIdentifier") {
    struct Case {
        const char* description;
        std::string pem;
        std::string messagePart;
    };
    std::string corrupted = kRfc9773Certificate;
    corrupted.replace(corrupted.find("MIIBQz"), 6, "!!!!!!");
    const std::vector<Case> cases{
        {"no Authority Key Identifier extension", kNoAkiCertificate,
         "no Authority Key Identifier extension"},
        {"AKI with issuer and serial but no keyIdentifier", kAkiWithoutKeyIdCertificate,
         "no keyIdentifier"},
        {"empty input", "", "does not parse"},
        {"not PEM", "hello", "does not parse"},
        {"corrupted base64 inside the PEM block", corrupted, "does not parse"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        try {
            ariCertId(c.pem);
            FAIL("expected std::runtime_error");
        } catch (const std::runtime_error& error) {
            CHECK(std::string(error.what()).find(c.messagePart) != std::string::npos);
        }
    }
}

TEST_CASE("parseRenewalInfo reads RFC 9773 §4.2 RenewalInfo objects") {
    struct Case {
        const char* description;
        std::string json;
        system_clock::time_point start, end;
        std::string explanationUrl;
    };
    const std::vector<Case> cases{
        {"RFC 9773 §4.2 example",
         R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
         R"("explanationURL":"https://acme.example.com/docs/ari"})",
         utc(2025, 1, 2, 4h), utc(2025, 1, 3, 4h), "https://acme.example.com/docs/ari"},
        {"explanationURL is optional", renewalInfo("2025-01-02T04:00:00Z", "2025-01-03T04:00:00Z"),
         utc(2025, 1, 2, 4h), utc(2025, 1, 3, 4h), ""},
        {"fractional seconds", renewalInfo("2025-01-02T04:00:00.5Z", "2025-01-03T04:00:00.250Z"),
         utc(2025, 1, 2, 4h + 500ms), utc(2025, 1, 3, 4h + 250ms), ""},
        {"nanosecond fractions are kept to the microsecond",
         renewalInfo("2025-01-02T04:00:00.123456789Z", "2025-01-03T04:00:00Z"),
         utc(2025, 1, 2, 4h + 123456us), utc(2025, 1, 3, 4h), ""},
        {"numeric offsets are converted to UTC",
         renewalInfo("2025-01-02T06:00:00+02:00", "2025-01-03T02:30:00-01:30"), utc(2025, 1, 2, 4h),
         utc(2025, 1, 3, 4h), ""},
        {"lower-case t and z (RFC 3339 §5.6 NOTE)",
         renewalInfo("2025-01-02t04:00:00z", "2025-01-03t04:00:00z"), utc(2025, 1, 2, 4h),
         utc(2025, 1, 3, 4h), ""},
        {"unknown members are ignored",
         R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z",)"
         R"("x":1},"future":true})",
         utc(2025, 1, 2, 4h), utc(2025, 1, 3, 4h), ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const RenewalWindow window = parseRenewalInfo(c.json);
        CHECK(window.start == c.start);
        CHECK(window.end == c.end);
        CHECK(window.explanationUrl == c.explanationUrl);
    }
}

TEST_CASE("parseRenewalInfo rejects invalid RenewalInfo objects") {
    struct Case {
        const char* description;
        std::string json;
    };
    const std::vector<Case> cases{
        {"not JSON", "not json"},
        {"empty body", ""},
        {"JSON array, not an object", "[]"},
        {"missing suggestedWindow", R"({"explanationURL":"https://acme.example.com/docs/ari"})"},
        {"suggestedWindow is not an object", R"({"suggestedWindow":"tomorrow"})"},
        {"missing end", R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z"}})"},
        {"start is a number", R"({"suggestedWindow":{"start":1735790400,)"
                              R"("end":"2025-01-03T04:00:00Z"}})"},
        {"date without time", renewalInfo("2025-01-02", "2025-01-03T04:00:00Z")},
        {"time without offset", renewalInfo("2025-01-02T04:00:00", "2025-01-03T04:00:00Z")},
        {"offset without colon is ISO 8601, not RFC 3339",
         renewalInfo("2025-01-02T04:00:00+0200", "2025-01-03T04:00:00Z")},
        {"trailing text", renewalInfo("2025-01-02T04:00:00Zjunk", "2025-01-03T04:00:00Z")},
        {"not a timestamp at all", renewalInfo("garbage", "2025-01-03T04:00:00Z")},
        {"month 13", renewalInfo("2025-13-02T04:00:00Z", "2026-01-03T04:00:00Z")},
        {"February 30", renewalInfo("2025-02-30T04:00:00Z", "2025-03-03T04:00:00Z")},
        {"year 0001 is beyond system_clock",
         renewalInfo("0001-01-01T00:00:00Z", "2025-01-03T04:00:00Z")},
        {"end before start (RFC 9773 §4.2)",
         renewalInfo("2025-01-03T04:00:00Z", "2025-01-02T04:00:00Z")},
        {"end equal to start (RFC 9773 §4.2: 'equals or precedes')",
         renewalInfo("2025-01-02T04:00:00Z", "2025-01-02T06:00:00+02:00")},
        {"explanationURL is not a string",
         R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
         R"("explanationURL":42})"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK_THROWS_AS(parseRenewalInfo(c.json), std::runtime_error);
    }
}

TEST_CASE("parseRenewalInfo keeps an explanationURL only when it is an https URL of at most "
          "2,048 printable bytes, and the window either way") {
    const auto withUrl = [](const std::string& url) {
        return R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",)"
               R"("end":"2025-01-03T04:00:00Z"},"explanationURL":")" +
               url + R"("})";
    };
    const std::string base = "https://acme.example.com/ari/";
    const std::string longest = base + std::string(kMaxExplanationUrlBytes - base.size(), 'a');
    struct Case {
        const char* description;
        std::string url;
        bool kept;
    };
    const std::vector<Case> cases{
        {"https", base + "incident-42", true},
        {"the scheme in capitals (RFC 3986 §3.1)", "HTTPS://acme.example.com/ari", true},
        {"2,048 bytes", longest, true},
        {"2,049 bytes: dropped, not cut into a broken link", longest + "a", false},
        {"100,000 bytes", base + std::string(100'000, 'a'), false},
        {"http", "http://acme.example.com/ari", false},
        {"javascript", "javascript:alert(1)", false},
        {"no host", "https:///ari", false},
        {"not a URL", "see our status page", false},
        {"a space", base + "a b", false},
        // JSON escapes (a raw control character is not valid JSON): the parsed URL holds them.
        {"a terminal escape", base + "\\u001b[2J", false},
        {"a line break", base + "\\r\\nX-Injected: 1", false},
        {"bytes past ASCII", base + "\u00e9", false},
        {"empty", "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const RenewalWindow window = parseRenewalInfo(withUrl(c.url));
        CHECK(window.start == utc(2025, 1, 2, std::chrono::hours(4)));
        CHECK(window.explanationUrl == (c.kept ? c.url : ""));
    }
}

TEST_CASE("parseRenewalInfo refuses a timestamp longer than 64 bytes before its regex reads it") {
    // RFC 3339's time-secfrac takes any number of digits; libstdc++'s regex matcher recurses per
    // character, and 900,000 of them (an answer under the 1 MiB cap) overflowed the stack.
    const std::string longFraction = "2025-01-02T04:00:00." + std::string(900'000, '1') + "Z";
    CHECK_THROWS_AS(parseRenewalInfo(renewalInfo(longFraction, "2025-01-03T04:00:00Z")),
                    std::runtime_error);
    CHECK_THROWS_AS(parseRenewalInfo(renewalInfo("2025-01-02T04:00:00Z", longFraction)),
                    std::runtime_error);
    // 64 bytes still parse: 43 fraction digits.
    const std::string longest = "2025-01-02T04:00:00." + std::string(43, '0') + "Z";
    REQUIRE(longest.size() == 64);
    CHECK(parseRenewalInfo(renewalInfo(longest, "2025-01-03T04:00:00Z")).start ==
          utc(2025, 1, 2, std::chrono::hours(4)));
}

TEST_CASE("pickRenewalTime maps uniform01 onto the window from start up to end") {
    struct Case {
        const char* description;
        RenewalWindow window;
        double uniform01;
        system_clock::time_point lowest, highest;  // inclusive bounds of the expected time
    };
    const auto start = kRfcWindow.start;
    const auto end = kRfcWindow.end;
    const auto lastTick = end - system_clock::duration(1);
    const std::vector<Case> cases{
        {"0 is the start", kRfcWindow, 0.0, start, start},
        {"0.5 is the middle", kRfcWindow, 0.5, start + 12h, start + 12h},
        {"0.25 is a quarter in", kRfcWindow, 0.25, start + 6h, start + 6h},
        {"just under 1 is just before the end", kRfcWindow, std::nextafter(1.0, 0.0), end - 1ms,
         lastTick},
        {"1 (out of range) stays inside the half-open window", kRfcWindow, 1.0, lastTick, lastTick},
        {"negative (out of range) is the start", kRfcWindow, -0.5, start, start},
        {"NaN is the start", kRfcWindow, std::numeric_limits<double>::quiet_NaN(), start, start},
        {"an empty window is its start", RenewalWindow{start, start, ""}, 0.5, start, start},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const auto picked = pickRenewalTime(c.window, c.uniform01);
        CHECK(picked >= c.lowest);
        CHECK(picked <= c.highest);
    }
}

TEST_CASE("ariRetryAfter follows RFC 9773 §4.3.2 limits and the §4.3.3 six-hour default") {
    struct Case {
        const char* description;
        std::optional<std::chrono::seconds> retryAfter;
        std::chrono::seconds expected;
    };
    const std::vector<Case> cases{
        {"absent: long-term error, six hours (§4.3.3)", std::nullopt, 6h},
        {"negative is invalid: six hours (§4.3.3)", std::chrono::seconds(-5), 6h},
        {"RFC 9773 §4.2 example Retry-After: 21600", std::chrono::seconds(21600), 21600s},
        {"zero is raised to one minute", 0s, 1min},
        {"59 s is raised to one minute", 59s, 1min},
        {"one minute is kept", 1min, 1min},
        {"one hour is kept", 1h, 1h},
        {"one day is kept", 24h, 24h},
        {"one day and a second is lowered to one day", 86401s, 24h},
        {"a week is lowered to one day", std::chrono::seconds(7 * 86400), 24h},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(ariRetryAfter(c.retryAfter) == c.expected);
    }
}
