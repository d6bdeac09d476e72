// canonicalCertificatesPem and the chain parseCertificateChain stores: what a CA sends (Boulder's
// blank line before each chain certificate, CRLF line ends, text around the certificates) comes
// out as OpenSSL writes PEM, the same certificates with LF lines and no blank line, because
// HAProxy's runtime API ends a `set ssl cert` payload at the first empty line.
#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"

using namespace dnsh;

namespace {

// A leaf for pem-test.example, issued by an intermediate that a root issued; each as
// `openssl req -x509 [-CA <issuer> -CAkey <issuer key>] -newkey ec -pkeyopt
// ec_paramgen_curve:P-256` wrote it, which is also how OpenSSL re-encodes it (canonical).
const std::string kLeaf = R"(-----BEGIN CERTIFICATE-----
MIIBqTCCAVCgAwIBAgIUQDAR8MGflKTykI/mMIWSGipfH1swCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVcGVtLXRlc3QtaW50ZXJtZWRpYXRlMB4XDTI2MTIwNTE4NTAy
OFoXDTI3MDMwNTE4NTAyOFowGzEZMBcGA1UEAwwQcGVtLXRlc3QuZXhhbXBsZTBZ
MBMGByqGSM49AgEGCCqGSM49AwEHA0IABLN8jQdJYHW2M6wA0GgpyaLeVIf54v/R
R0x84R9mGsTpqYwFodRQ+Pv0VPqJqseQFLUHs/MIt62ARInx57vyNKmjbTBrMB0G
A1UdDgQWBBQOKr2i23+nXyi+N1BZQZEcOoJG2jAfBgNVHSMEGDAWgBRa74mxS6n8
EBPTeiWdTl/turaTMzAbBgNVHREEFDASghBwZW0tdGVzdC5leGFtcGxlMAwGA1Ud
EwEB/wQCMAAwCgYIKoZIzj0EAwIDRwAwRAIgTA7C1NaSCel+KS9zbefYci1f8ETJ
aJDnon4Wno5maroCIBTgvf5906n/KbCYRQkPGPgfKXrsuuYIjfzOQWvpwwjT
-----END CERTIFICATE-----
)";

const std::string kIntermediate = R"(-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUGr+ekG08URutjIZv7PLauicow5kwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNcGVtLXRlc3Qtcm9vdDAeFw0yNjEyMDUxODUwMjhaFw0zNjEy
MDIxODUwMjhaMCAxHjAcBgNVBAMMFXBlbS10ZXN0LWludGVybWVkaWF0ZTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABCQ9zvyoijTQwM+cYQz5BVLNBwTSryXKDI7J
kFMlYGmIEj+tOaUwpNGFRSdho0jM/3ocTnhoE5LRnZQHNc3yMnujUzBRMB0GA1Ud
DgQWBBRa74mxS6n8EBPTeiWdTl/turaTMzAfBgNVHSMEGDAWgBTZCPnZOzzgF+iJ
s7VoxnkfIMDTPjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDs
6uiqh41pIIatmfFEgPBFrncblTXMYVmDQTsDR4OGvAIgXXs/ackC22JQAjDCi37Y
67Slp9JrJPkp9xg3Yk+d2xU=
-----END CERTIFICATE-----
)";

const std::string kRoot = R"(-----BEGIN CERTIFICATE-----
MIIBhDCCASugAwIBAgIUEi5srse+dnGuuk5DTV7WJ7xzfjAwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNcGVtLXRlc3Qtcm9vdDAeFw0yNjEyMDUxODUwMjhaFw0zNjEy
MDIxODUwMjhaMBgxFjAUBgNVBAMMDXBlbS10ZXN0LXJvb3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARzYR+fzZoB5zjLQKBCKYlanl0/zCSo8k/A4yCjgSkftIzv
bOTXgXhPdl7ZWvmEM+9Y5fwl/f6HOVUpJK7pZ7iio1MwUTAdBgNVHQ4EFgQU2Qj5
2Ts84BfoibO1aMZ5HyDA0z4wHwYDVR0jBBgwFoAU2Qj52Ts84BfoibO1aMZ5HyDA
0z4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBMzkET7ZJ9C3zp
7mLTleNIhKVIySaP1Cw9lm1FRINnJAIgEXzPjZm5GuJ1K5bCjhOeNxjULDx4dZbj
ky4xQ/v0r38=
-----END CERTIFICATE-----
)";

std::string withCrlf(const std::string& text) {
    std::string out;
    for (const char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
}

// What HAProxy's `set ssl cert` payload needs (edge/haproxy_runtime.hpp): LF lines, none empty.
bool hasNoBlankLineOrCr(const std::string& pem) {
    return pem.find("\n\n") == std::string::npos && pem.find('\r') == std::string::npos &&
           !pem.empty() && pem.front() != '\n' && pem.back() == '\n';
}

}  // namespace

TEST_CASE("canonicalCertificatesPem: blank lines and CRLF between certificates go, the "
          "certificates stay") {
    struct Case {
        std::string description;
        std::string pem;
    };
    const std::string twoCas = kIntermediate + kRoot;
    const std::vector<Case> cases{
        {"already canonical", twoCas},
        {"a blank line before each certificate (Boulder)", "\n" + kIntermediate + "\n" + kRoot},
        {"several blank lines between them", kIntermediate + "\n\n\n" + kRoot + "\n"},
        {"CRLF line ends", withCrlf(twoCas)},
        {"CRLF and a blank line between them", withCrlf(kIntermediate + "\n" + kRoot)},
        {"explanatory text around them (RFC 7468 §2)",
         "subject=CN = pem-test-intermediate\n" + kIntermediate + "issuer=CN = pem-test-root\n" +
             kRoot + "trailing note\n"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string canonical = canonicalCertificatesPem(c.pem);
        CHECK(canonical == twoCas);  // the same two certificates, byte for byte, in order
        CHECK(hasNoBlankLineOrCr(canonical));
    }
    CHECK(canonicalCertificatesPem(kLeaf) == kLeaf);
}

TEST_CASE("canonicalCertificatesPem: blank text is no certificate, anything unreadable throws") {
    CHECK(canonicalCertificatesPem("") == "");
    CHECK(canonicalCertificatesPem("\r\n\n") == "");
    const std::string truncated = kIntermediate + kRoot.substr(0, kRoot.size() / 2);
    std::string badBase64 = kIntermediate + kRoot;
    badBase64[kIntermediate.size() + 40] = '!';
    const std::vector<std::pair<std::string, std::string>> unreadable{
        {"no certificate in it", "chain"},
        {"the last certificate cut short", truncated},
        {"a character base64 does not have", badBase64},
    };
    for (const auto& [description, pem] : unreadable) {
        CAPTURE(description);
        CHECK_THROWS_AS(canonicalCertificatesPem(pem), std::runtime_error);
    }
}

TEST_CASE("parseCertificateChain stores a Boulder or CRLF download canonical, an unreadable chain "
          "as sent") {
    // Boulder's download: each chain certificate after a newline of its own.
    const std::string boulder = kLeaf + "\n" + kIntermediate + "\n" + kRoot;
    for (const std::string& download : {boulder, withCrlf(boulder)}) {
        const IssuedCertificate issued = parseCertificateChain(download);
        CHECK(issued.leafPem == kLeaf);
        CHECK(issued.chainPem == kIntermediate + kRoot);
        CHECK(hasNoBlankLineOrCr(issued.leafPem + issued.chainPem));
        CHECK(issued.notBefore < issued.notAfter);
        CHECK(issued.lifetime == std::chrono::hours(24 * 90));
        CHECK(certificateSerialHex(issued.leafPem) == "403011F0C19F94A4F2908FE63085921A2A5F1F5B");
    }
    CHECK(parseCertificateChain(kLeaf).chainPem == "");
    // Today's behaviour where OpenSSL cannot read the chain: stored as the CA sent it (the edge
    // agent refuses it when it delivers); a leaf that does not parse fails the download.
    const std::string cutChain = "-----BEGIN CERTIFICATE-----\nMIIBjTCCAT\n";
    CHECK(parseCertificateChain(kLeaf + "\n" + cutChain).chainPem == cutChain);
    CHECK_THROWS_AS(parseCertificateChain("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                          "-----END CERTIFICATE-----\n" +
                                          kIntermediate),
                    std::runtime_error);
}

TEST_CASE("pemCertificateChainFault: RFC 8555 §9.1's chain passes with blank lines and CRLF, "
          "not with text, other blocks or more than the bound") {
    const std::string chain = kLeaf + kIntermediate + kRoot;
    // "-----BEGIN CERTIFICATE----- \t": RFC 7468 §3's lax form, which OpenSSL reads.
    std::string trailingBlanks = kLeaf;
    trailingBlanks.insert(trailingBlanks.find('\n'), " \t");
    for (const std::string& pem : {chain, kLeaf + "\n" + kIntermediate + "\n" + kRoot,
                                   withCrlf(kLeaf + "\n" + kIntermediate), "\n" + kLeaf + "\n\n",
                                   trailingBlanks})
        CHECK(pemCertificateChainFault(pem, 3) == "");
    std::string headers = kLeaf;
    headers.insert(headers.find('\n') + 1, "Proc-Type: 4,ENCRYPTED\n\n");
    const std::vector<std::pair<std::string, std::string>> refused{
        {"", "holds no certificate"},
        {"\r\n", "holds no certificate"},
        {"<html>502</html>\n", "is no PEM text"},
        {"subject=CN = pem-test.example\n" + chain, "has text outside its PEM blocks"},
        {kLeaf + "note\n" + kIntermediate, "has text outside its PEM blocks"},
        {chain + "trailing note", "has text outside its PEM blocks"},
        // Lines PEM_read_bio would skip: a BEGIN line that is no whole boundary, before a
        // block or between two.
        {"-----BEGIN X\n<html>explanatory</html>\n" + chain, "has text outside its PEM blocks"},
        {kLeaf + "-----BEGIN NOTE\nsome text\n" + kIntermediate,
         "has text outside its PEM blocks"},
        {kLeaf + "-----BEGIN -----\n" + kIntermediate, "has text outside its PEM blocks"},
        {kLeaf + "  " + kIntermediate, "has text outside its PEM blocks"},
        {kLeaf + kIntermediate + kRoot + kRoot, "holds 4 PEM blocks, more than 3 certificates"},
        {kLeaf + "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
         "has a PEM block that is no certificate"},
        {headers, "has a PEM block with headers"},
        {kLeaf + kIntermediate.substr(0, kIntermediate.size() / 2),
         "has a PEM block that does not parse"},
    };
    for (const auto& [pem, fault] : refused) {
        CAPTURE(pem);
        CHECK(pemCertificateChainFault(pem, 3) == fault);
    }
}

// A wildcard order's leaf: subjectAltName *.Wild-Test.example and wild-test.example, self-signed
// (`openssl req -x509 ... -addext "subjectAltName=DNS:*.Wild-Test.example,DNS:wild-test.example"`).
const std::string kWildcardLeaf = R"(-----BEGIN CERTIFICATE-----
MIIBwTCCAWigAwIBAgIUBlsuK+VpLxZ5bpMmthvj4X3fuA4wCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRd2lsZC10ZXN0LmV4YW1wbGUwHhcNMjYxMjA2MTQyMDA5WhcN
MzYxMjAzMTQyMDA5WjAcMRowGAYDVQQDDBF3aWxkLXRlc3QuZXhhbXBsZTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABCEDdZynlxP2a90qbMUYPpx3eBzAKq6Gu5eC
+dn7DwfFMQ4uqoRcOrCriZfqgRtcSERs6yqEz6feCBewwxXgX06jgYcwgYQwHQYD
VR0OBBYEFOMXX0/NXZH5Sf375OBBj79G4buMMB8GA1UdIwQYMBaAFOMXX0/NXZH5
Sf375OBBj79G4buMMA8GA1UdEwEB/wQFMAMBAf8wMQYDVR0RBCowKIITKi5XaWxk
LVRlc3QuZXhhbXBsZYIRd2lsZC10ZXN0LmV4YW1wbGUwCgYIKoZIzj0EAwIDRwAw
RAIgC4084Zsp9Dr9QHon2C0ZMuPO4W74BdXDMG3iNC7a3sICIC53Ayw2+gXkofMX
LBWRNIGOvRwdWqFnbXNy861v7FmE
-----END CERTIFICATE-----
)";

TEST_CASE("nameNotListed: the leaf's subjectAltName, without case, a wildcard literally") {
    CHECK_FALSE(nameNotListed(kLeaf, {"pem-test.example", "PEM-Test.Example"}).has_value());
    CHECK(nameNotListed(kLeaf, {"pem-test.example", "*.pem-test.example"}) ==
          std::optional<std::string>("*.pem-test.example"));
    CHECK(nameNotListed(kLeaf, {"a.pem-test.example"}) ==
          std::optional<std::string>("a.pem-test.example"));
    CHECK(nameNotListed("no certificate", {"pem-test.example"}) ==
          std::optional<std::string>("pem-test.example"));
    // A wildcard order (its names "*.x" and "x"): the leaf's "*.x" is compared as a name, not
    // matched as a pattern, so it covers "*.x" in any case and never "a.x".
    CHECK_FALSE(
        nameNotListed(kWildcardLeaf, {"*.wild-test.example", "wild-test.example"}).has_value());
    CHECK_FALSE(nameNotListed(kWildcardLeaf, {"*.WILD-TEST.example"}).has_value());
    CHECK(nameNotListed(kWildcardLeaf, {"a.wild-test.example"}) ==
          std::optional<std::string>("a.wild-test.example"));
    CHECK(nameNotListed(kWildcardLeaf, {"*.other.example"}) ==
          std::optional<std::string>("*.other.example"));
}
