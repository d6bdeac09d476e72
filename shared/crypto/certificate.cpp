#include "crypto/certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <stdexcept>

#include "crypto/keys.hpp"

namespace dnsh {

namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

X509Ptr readCertificate(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
}

// The next certificate of `in`, null at the end of the text. PEM_read_bio_X509 returns null at
// the end and on a certificate that does not parse alike; only the end leaves "no start line".
X509Ptr nextCertificate(BIO* in) {
    X509Ptr certificate(PEM_read_bio_X509(in, nullptr, nullptr, nullptr), &X509_free);
    if (certificate) return certificate;
    const unsigned long error = ERR_peek_last_error();
    if (ERR_GET_LIB(error) != ERR_LIB_PEM || ERR_GET_REASON(error) != PEM_R_NO_START_LINE)
        throw std::runtime_error("a certificate does not parse: " + opensslError());
    ERR_clear_error();
    return certificate;
}

// PEM_write_bio_X509's form: base64 lines of 64, LF line ends, no blank line.
std::string certificatePem(X509* certificate) {
    BioPtr out(BIO_new(BIO_s_mem()), &BIO_free);
    if (!out || PEM_write_bio_X509(out.get(), certificate) != 1)
        throw std::runtime_error("cannot encode a certificate: " + opensslError());
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr std::string_view kPemBegin = "-----BEGIN ";

bool isBlank(std::string_view text) {
    return text.find_first_not_of(kWhitespace) == std::string_view::npos;
}

struct OpenSslFree {
    void operator()(void* memory) const { OPENSSL_free(memory); }
};

// Whether `text` starts with a whole pre-encapsulation boundary line, "-----BEGIN label-----"
// then blanks (RFC 7468 §3's lax form allows them; OpenSSL strips them) and CR, LF or the end:
// PEM_read_bio skips every line that is not one. A label is compared as OpenSSL reads it: up to
// the first "-".
bool beginsBoundaryLine(std::string_view text) {
    constexpr std::string_view kDashes = "-----";
    std::string_view line = text.substr(0, text.find_first_of("\r\n"));
    line = line.substr(0, line.find_last_not_of(" \t") + 1);
    return line.size() > kPemBegin.size() + kDashes.size() && line.starts_with(kPemBegin) &&
           line.ends_with(kDashes) &&
           line.substr(kPemBegin.size(), line.size() - kPemBegin.size() - kDashes.size())
                   .find('-') == std::string_view::npos;
}

// How many PEM blocks `text` begins (for a message: nothing is parsed).
std::size_t pemBlockCount(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t at = text.find(kPemBegin); at != std::string_view::npos;
         at = text.find(kPemBegin, at + kPemBegin.size()))
        ++count;
    return count;
}

// Why the next PEM block of `in` is no certificate, "" when it is one: a "CERTIFICATE" block
// without headers (RFC 7468 §3's strict form has none) whose DER OpenSSL reads whole.
std::string certificateBlockFault(BIO* in) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const int read = PEM_read_bio(in, &name, &header, &data, &length);
    const std::unique_ptr<char, OpenSslFree> ownedName(name), ownedHeader(header);
    const std::unique_ptr<unsigned char, OpenSslFree> ownedData(data);
    if (read != 1) return "has a PEM block that does not parse";
    if (std::string_view(name) != PEM_STRING_X509) return "has a PEM block that is no certificate";
    if (header != nullptr && *header != '\0') return "has a PEM block with headers";
    const unsigned char* cursor = data;
    const X509Ptr certificate(d2i_X509(nullptr, &cursor, length), &X509_free);
    if (!certificate || cursor != data + length) return "has a certificate that does not parse";
    return "";
}

std::string rfc3339(const ASN1_TIME* time) {
    std::tm parts{};
    if (ASN1_TIME_to_tm(time, &parts) != 1) throw std::runtime_error("bad certificate time");
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

}  // namespace

std::string makeCsrDer(EVP_PKEY* key, const std::vector<std::string>& dnsNames) {
    if (dnsNames.empty()) throw std::invalid_argument("a CSR needs at least one name");
    const std::string& domainName = dnsNames.front();
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> request(X509_REQ_new(), &X509_REQ_free);
    X509_NAME* subject = X509_REQ_get_subject_name(request.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(domainName.c_str()), -1, -1,
                               0);
    std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)> extensions(
        sk_X509_EXTENSION_new_null(), [](STACK_OF(X509_EXTENSION) * list) {
            sk_X509_EXTENSION_pop_free(list, X509_EXTENSION_free);
        });
    std::string san;
    for (const auto& name : dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + name;
    X509_EXTENSION* extension =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    if (extension == nullptr) throw std::runtime_error("cannot build SAN: " + opensslError());
    sk_X509_EXTENSION_push(extensions.get(), extension);
    if (X509_REQ_add_extensions(request.get(), extensions.get()) != 1 ||
        X509_REQ_set_pubkey(request.get(), key) != 1 ||
        X509_REQ_sign(request.get(), key, EVP_sha256()) <= 0)
        throw std::runtime_error("cannot build CSR: " + opensslError());
    unsigned char* der = nullptr;
    const int size = i2d_X509_REQ(request.get(), &der);
    if (size <= 0) throw std::runtime_error("cannot encode CSR: " + opensslError());
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
    OPENSSL_free(der);
    return out;
}

IssuedCertificate parseCertificateChain(const std::string& pemChain) {
    static const std::string kEnd = "-----END CERTIFICATE-----";
    const std::size_t leafEnd = pemChain.find(kEnd);
    if (leafEnd == std::string::npos) throw std::runtime_error("no certificate in the chain");
    const std::size_t next = pemChain.find("-----BEGIN", leafEnd);
    const std::string chainAsSent = next == std::string::npos ? "" : pemChain.substr(next);
    const X509Ptr leaf = readCertificate(pemChain.substr(0, leafEnd + kEnd.size()) + "\n");
    if (!leaf) throw std::runtime_error("leaf certificate does not parse: " + opensslError());
    // Stored canonical, so the API's download and the edge's files have no blank line or CR
    // (canonicalCertificatesPem). A chain OpenSSL cannot read is kept as sent (the edge agent
    // refuses it when it delivers it); a CA's download is checked before it gets here
    // (acme/certificate_chain.hpp), so only other callers' chains may be such.
    IssuedCertificate issued;
    issued.leafPem = certificatePem(leaf.get());
    try {
        issued.chainPem = canonicalCertificatesPem(chainAsSent);
    } catch (const std::runtime_error&) {
        issued.chainPem = chainAsSent;
    }
    issued.notBefore = rfc3339(X509_get0_notBefore(leaf.get()));
    issued.notAfter = rfc3339(X509_get0_notAfter(leaf.get()));
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf.get()),
                       X509_get0_notAfter(leaf.get())) != 1)
        throw std::runtime_error("bad certificate validity");
    issued.lifetime = std::chrono::seconds(static_cast<long long>(days) * 86400 + seconds);
    return issued;
}

std::string canonicalCertificatesPem(std::string_view pem) {
    if (isBlank(pem)) return "";  // a leaf-only order's chain
    const BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!in) throw std::runtime_error("cannot read the certificates: " + opensslError());
    ERR_clear_error();  // nextCertificate() reads the queue: only its own errors in it
    std::string canonical;
    while (const X509Ptr certificate = nextCertificate(in.get()))
        canonical += certificatePem(certificate.get());
    if (canonical.empty()) throw std::runtime_error("no PEM certificate in the text");
    return canonical;
}

std::string certificateSerialHex(const std::string& leafPem) {
    const X509Ptr leaf = readCertificate(leafPem);
    if (!leaf) return "";
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr), &BN_free);
    if (!serial) return "";
    char* hex = BN_bn2hex(serial.get());
    std::string text = hex ? hex : "";
    OPENSSL_free(hex);
    const auto first = text.find_first_not_of('0');
    return first == std::string::npos ? "0" : text.substr(first);
}

bool certificateMatchesKey(const std::string& leafPem, EVP_PKEY* key) {
    const X509Ptr leaf = readCertificate(leafPem);
    if (!leaf) return false;
    return EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key) == 1;
}

std::string pemCertificateChainFault(std::string_view pem, std::size_t maxCertificates) {
    const BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!in) throw std::runtime_error("cannot read the certificates: " + opensslError());
    std::size_t certificates = 0;
    std::string fault;
    while (fault.empty()) {
        // What OpenSSL has not read yet: PEM_read_bio reads line by line up to the END line.
        const std::string_view rest =
            pem.substr(pem.size() - static_cast<std::size_t>(BIO_pending(in.get())));
        const std::size_t start = rest.find_first_not_of(kWhitespace);
        if (start == std::string_view::npos) break;
        // PEM_read_bio would skip any line that is no whole "-----BEGIN label-----" line, and
        // any text before one: only blank lines may be there (RFC 7468 §2).
        if (!beginsBoundaryLine(rest.substr(start)) ||
            (start > 0 && rest[start - 1] != '\n' && rest[start - 1] != '\r'))
            fault = certificates == 0 && rest.find(kPemBegin) == std::string_view::npos
                        ? "is no PEM text"
                        : "has text outside its PEM blocks";
        else if (certificates == maxCertificates)
            fault = "holds " + std::to_string(certificates + pemBlockCount(rest)) +
                    " PEM blocks, more than " + std::to_string(maxCertificates) + " certificates";
        else
            fault = certificateBlockFault(in.get());
        if (fault.empty()) ++certificates;
    }
    ERR_clear_error();  // a block that did not parse left OpenSSL's reasons; the fault says it
    if (fault.empty() && certificates == 0) fault = "holds no certificate";
    return fault;
}

std::optional<std::string> nameNotListed(const std::string& leafPem,
                                         const std::vector<std::string>& dnsNames) {
    const X509Ptr leaf = readCertificate(leafPem);
    // Literal comparison: the names are the order's, a wildcard's "*.x" among them. What a
    // leaf covers is its subjectAltName (RFC 6125 §6.4.4: the CN counts only without one).
    constexpr unsigned int kFlags =
        X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
    for (const auto& name : dnsNames)
        if (!leaf || X509_check_host(leaf.get(), name.data(), name.size(), kFlags, nullptr) != 1)
            return name;
    return std::nullopt;
}

}  // namespace dnsh
