#pragma once
// CSRs for finalize and the facts we keep from an issued chain.
#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// DER PKCS#10 with the first name as CN and every name as a SAN (RFC 8555 §7.4: the CSR names
// exactly the order's identifiers).
std::string makeCsrDer(EVP_PKEY* key, const std::vector<std::string>& dnsNames);

struct IssuedCertificate {
    std::string leafPem;    // canonical (canonicalCertificatesPem)
    std::string chainPem;   // the issuers after the leaf: canonical, or as sent when unreadable
    std::string notBefore;  // RFC 3339 UTC
    std::string notAfter;
    std::chrono::seconds lifetime{0};  // notAfter - notBefore
};

// Splits a PEM chain (leaf first) and reads the leaf's validity. Throws std::runtime_error.
IssuedCertificate parseCertificateChain(const std::string& pemChain);

// Every certificate of `pem`, in order, re-encoded by OpenSSL: RFC 7468's strict form (§3; base64
// lines of 64, §2) with LF line ends and nothing between certificates, so no blank line and no CR
// whatever the source had (Boulder sends a blank line before each chain certificate; some CAs
// send CRLF). Text around the certificates goes (RFC 7468 §2 permits it; it is not certificate
// data); blank text gives "". Throws std::runtime_error when a certificate does not parse or
// non-blank text holds none.
std::string canonicalCertificatesPem(std::string_view pem);

// The leaf's serial number in upper-case hex without leading zeros ("" when it is no PEM
// certificate): what the edge agent compares with what a TLS terminator serves.
std::string certificateSerialHex(const std::string& leafPem);

// True when the leaf's public key is the key's.
bool certificateMatchesKey(const std::string& leafPem, EVP_PKEY* key);

// Why `pem` is no application/pem-certificate-chain (RFC 8555 §9.1) of 1 to `maxCertificates`
// certificates, "" when it is one: each a PEM "CERTIFICATE" block without headers whose DER
// OpenSSL reads whole, nothing but whitespace around them at line starts (§9.1: "MUST NOT
// include explanatory text"; blank lines, as Boulder sends, and CRLF pass). Past
// `maxCertificates` blocks nothing more is parsed.
std::string pemCertificateChainFault(std::string_view pem, std::size_t maxCertificates);

// The first of `dnsNames` the leaf's subjectAltName does not list as a DNS name, compared without
// case and literally ("*.x" must be listed as "*.x"; the subject's CN is not looked at); none when
// it lists them all. The first name when `leafPem` is no certificate.
std::optional<std::string> nameNotListed(const std::string& leafPem,
                                         const std::vector<std::string>& dnsNames);

}  // namespace dnsh
