#include "acme/ari.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "acme/ca_strings.hpp"
#include "acme/problem.hpp"
#include "acme/rfc3339.hpp"
#include "core/enum_names.hpp"
#include "crypto/keys.hpp"

namespace dnsh::acme {

namespace {

struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
struct AuthorityKeyIdDeleter {
    void operator()(AUTHORITY_KEYID* aki) const { AUTHORITY_KEYID_free(aki); }
};
struct OpensslBytesDeleter {
    void operator()(unsigned char* bytes) const { OPENSSL_free(bytes); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using AuthorityKeyId = std::unique_ptr<AUTHORITY_KEYID, AuthorityKeyIdDeleter>;
using OpensslBytes = std::unique_ptr<unsigned char, OpensslBytesDeleter>;

// RFC 9773 §4.3.2: "values under one minute could be treated as if they were one minute, and
// values over one day could be treated as if they were one day".
constexpr std::chrono::seconds kMinRetryAfter = std::chrono::minutes(1);
constexpr std::chrono::seconds kMaxRetryAfter = std::chrono::hours(24);
// RFC 9773 §4.3.3: "Retry-After is invalid or not present" is a long-term error, after which
// clients "MUST make the next renewalInfo request as soon as possible after six hours have passed".
constexpr std::chrono::seconds kLongTermErrorRetry = std::chrono::hours(6);
// RFC 9773 §4.3.3: "On receiving a temporary error, clients SHOULD do exponential backoff". No
// count of a certificate's failed fetches is kept, so the backoff is one short step; the worker
// asks a CA that failed so nothing more in its batch (issuance/worker.cpp), which keeps the
// requests to it at about one a minute however many certificates wait.
constexpr std::chrono::seconds kTemporaryErrorRetry = std::chrono::minutes(5);

constexpr EnumNames<AriErrorKind, 3> kAriErrorKindNames{{{
    {AriErrorKind::Temporary, "temporary"},
    {AriErrorKind::RateLimited, "rate_limited"},
    {AriErrorKind::LongTerm, "long_term"},
}}};

X509Ptr readFirstCertificate(const std::string& pem) {
    if (pem.size() > static_cast<std::size_t>(INT_MAX))
        throw std::runtime_error("ARI CertID: certificate PEM is too large");
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::runtime_error("ARI CertID: cannot allocate BIO: " + opensslError());
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate)
        throw std::runtime_error("ARI CertID: certificate PEM does not parse: " + opensslError());
    return certificate;
}

// RFC 9773 §4.1: "the keyIdentifier field of the certificate's Authority Key Identifier (AKI)
// [RFC5280] extension" — the OCTET STRING's value, not its DER encoding.
std::string authorityKeyIdentifier(X509* certificate) {
    int critical = 0;
    AuthorityKeyId aki(static_cast<AUTHORITY_KEYID*>(
        X509_get_ext_d2i(certificate, NID_authority_key_identifier, &critical, nullptr)));
    if (!aki) {
        if (critical == -1)
            throw std::runtime_error(
                "ARI CertID: certificate has no Authority Key Identifier extension");
        if (critical == -2)
            throw std::runtime_error(
                "ARI CertID: certificate has more than one Authority Key Identifier extension");
        throw std::runtime_error("ARI CertID: Authority Key Identifier extension does not parse");
    }
    if (aki->keyid == nullptr || ASN1_STRING_length(aki->keyid) <= 0)
        throw std::runtime_error(
            "ARI CertID: Authority Key Identifier extension has no keyIdentifier");
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki->keyid)),
                       static_cast<std::size_t>(ASN1_STRING_length(aki->keyid)));
}

// RFC 9773 §4.1: "the DER-encoded Serial Number field (without the tag and length bytes)". The
// content octets keep DER's sign byte: serial 0x87654321 is 00 87 65 43 21 (the RFC's example).
std::string serialContentOctets(X509* certificate) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate);
    if (serial == nullptr) throw std::runtime_error("ARI CertID: certificate has no serial number");
    unsigned char* raw = nullptr;
    const int derLength = i2d_ASN1_INTEGER(serial, &raw);
    OpensslBytes der(raw);
    if (derLength <= 0 || !der)
        throw std::runtime_error("ARI CertID: cannot DER-encode the serial number: " +
                                 opensslError());
    const unsigned char* content = der.get();
    long contentLength = 0;
    int tag = 0;
    int tagClass = 0;
    const int flags = ASN1_get_object(&content, &contentLength, &tag, &tagClass, derLength);
    const long headerLength = static_cast<long>(content - der.get());
    if ((flags & 0x80) != 0 || tag != V_ASN1_INTEGER || tagClass != V_ASN1_UNIVERSAL ||
        contentLength <= 0 || headerLength + contentLength != derLength)
        throw std::runtime_error("ARI CertID: serial number is not a DER INTEGER");
    return std::string(reinterpret_cast<const char*>(content),
                       static_cast<std::size_t>(contentLength));
}

// RFC 9773 §4.2's timestamps, strict (acme/rfc3339.hpp).
std::chrono::system_clock::time_point parseTimestamp(const std::string& text,
                                                     const std::string& field) {
    return parseRfc3339(text, "renewalInfo: " + field);
}

Poco::JSON::Object::Ptr objectMember(const Poco::JSON::Object::Ptr& object,
                                     const std::string& name) {
    if (!object->has(name)) throw std::runtime_error("renewalInfo: missing " + name);
    Poco::JSON::Object::Ptr member = object->getObject(name);
    if (!member) throw std::runtime_error("renewalInfo: " + name + " must be an object");
    return member;
}

std::string stringMember(const Poco::JSON::Object::Ptr& object, const std::string& name,
                         const std::string& path) {
    if (!object->has(name)) throw std::runtime_error("renewalInfo: missing " + path);
    const Poco::Dynamic::Var value = object->get(name);
    if (!value.isString()) throw std::runtime_error("renewalInfo: " + path + " must be a string");
    return value.extract<std::string>();
}

// RFC 9773 §4.2's explanationURL as it may be shown to the operator (ari.hpp), else "".
std::string usableExplanationUrl(const std::string& url) {
    return isHttpsUrl(url, kMaxExplanationUrlBytes) ? url : "";
}

}  // namespace

std::string ariCertId(const std::string& leafPem) {
    const X509Ptr certificate = readFirstCertificate(leafPem);
    // RFC 9773 §4.1: 'base64url(AKI keyIdentifier) || "." || base64url(Serial)', "All trailing
    // '=' characters MUST be stripped" — base64UrlEncode never pads (RFC 7515 §2).
    return base64UrlEncode(authorityKeyIdentifier(certificate.get())) + "." +
           base64UrlEncode(serialContentOctets(certificate.get()));
}

RenewalWindow parseRenewalInfo(const std::string& json) {
    Poco::Dynamic::Var parsed;
    try {
        Poco::JSON::Parser parser;
        parsed = parser.parse(json);
    } catch (const Poco::Exception& error) {
        throw std::runtime_error("renewalInfo: body is not valid JSON (" + error.displayText() +
                                 ")");
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
        throw std::runtime_error("renewalInfo: body is not a JSON object");
    const auto object = parsed.extract<Poco::JSON::Object::Ptr>();

    // RFC 9773 §4.2: "suggestedWindow (object, required): A JSON object with two keys, "start"
    // and "end", whose values are timestamps, encoded in the format specified in [RFC3339]".
    const auto suggested = objectMember(object, "suggestedWindow");
    RenewalWindow window;
    window.start = parseTimestamp(stringMember(suggested, "start", "suggestedWindow.start"),
                                  "suggestedWindow.start");
    window.end = parseTimestamp(stringMember(suggested, "end", "suggestedWindow.end"),
                                "suggestedWindow.end");
    // RFC 9773 §4.2: "A RenewalInfo object in which the end timestamp equals or precedes the start
    // timestamp is invalid. [...] clients MUST treat one as though they failed to receive any
    // response from the server".
    if (window.end <= window.start)
        throw std::runtime_error("renewalInfo: suggestedWindow.end does not follow start");

    // RFC 9773 §4.2: "explanationURL (string, optional)". One not fit to show is dropped; the
    // window is the answer, the URL only explains it.
    if (object->has("explanationURL"))
        window.explanationUrl =
            usableExplanationUrl(stringMember(object, "explanationURL", "explanationURL"));
    return window;
}

std::chrono::system_clock::time_point pickRenewalTime(const RenewalWindow& window,
                                                      double uniform01) {
    // RFC 9773 §4.2 step 2: "Select a uniform random time within the suggested window."
    const auto span = window.end - window.start;
    if (span <= std::chrono::system_clock::duration::zero()) return window.start;
    if (!(uniform01 > 0.0)) uniform01 = 0.0;  // also NaN
    const auto offset = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::duration<double, std::chrono::system_clock::period>(
            static_cast<double>(span.count()) * std::min(uniform01, 1.0)));
    // Rounding (or uniform01 >= 1) could land on `end`; the window is half-open.
    const auto last = span - std::chrono::system_clock::duration(1);
    return window.start + std::clamp(offset, std::chrono::system_clock::duration::zero(), last);
}

std::chrono::seconds ariRetryAfter(std::optional<std::chrono::seconds> retryAfter) {
    // RFC 9773 §4.3: Retry-After is "the desired (i.e., both requested minimum and maximum)
    // amount of time to wait"; §4.3.2: clients "MUST set reasonable limits on their checking
    // interval". A negative delay is not an RFC 9110 delay-seconds value: invalid, as if absent.
    if (!retryAfter || retryAfter->count() < 0) return kLongTermErrorRetry;
    return std::clamp(*retryAfter, kMinRetryAfter, kMaxRetryAfter);
}

std::string_view toString(AriErrorKind kind) { return kAriErrorKindNames.toString(kind); }

AriErrorKind ariErrorKind(const std::exception& error) {
    const auto* caError = dynamic_cast<const AcmeError*>(&error);
    // §4.3.3: "RenewalInfo object is invalid" (and a certificate we cannot name is no better).
    if (caError == nullptr) return AriErrorKind::LongTerm;
    const int status = caError->problem().status;
    if (caError->unreachable() || status >= 500) return AriErrorKind::Temporary;
    if (status == 429 || caError->is(ProblemType::kRateLimited)) return AriErrorKind::RateLimited;
    return AriErrorKind::LongTerm;  // §4.3.3: "Non-5xx HTTP error"
}

std::chrono::seconds ariErrorRetry(AriErrorKind kind,
                                   std::optional<std::chrono::seconds> retryAfter) {
    // A temporary error never waits longer than a long-term one would: a CA that is back early
    // is seen within six hours whatever its 503 said.
    const std::optional<std::chrono::seconds> asked =
        retryAfter && retryAfter->count() >= 0
            ? std::optional(std::clamp(*retryAfter, kMinRetryAfter, kLongTermErrorRetry))
            : std::nullopt;
    switch (kind) {
        case AriErrorKind::Temporary:
            return asked.value_or(kTemporaryErrorRetry);
        case AriErrorKind::RateLimited:
            return asked.value_or(kLongTermErrorRetry);
        case AriErrorKind::LongTerm:
            return kLongTermErrorRetry;
    }
    return kLongTermErrorRetry;
}

}  // namespace dnsh::acme
