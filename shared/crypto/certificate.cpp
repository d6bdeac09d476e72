#include "crypto/certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
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

X509Ptr readCertificate(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
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
    IssuedCertificate issued;
    issued.leafPem = pemChain.substr(0, leafEnd + kEnd.size()) + "\n";
    const std::size_t next = pemChain.find("-----BEGIN", leafEnd);
    issued.chainPem = next == std::string::npos ? "" : pemChain.substr(next);
    const X509Ptr leaf = readCertificate(issued.leafPem);
    if (!leaf) throw std::runtime_error("leaf certificate does not parse: " + opensslError());
    issued.notBefore = rfc3339(X509_get0_notBefore(leaf.get()));
    issued.notAfter = rfc3339(X509_get0_notAfter(leaf.get()));
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf.get()),
                       X509_get0_notAfter(leaf.get())) != 1)
        throw std::runtime_error("bad certificate validity");
    issued.lifetime = std::chrono::seconds(static_cast<long long>(days) * 86400 + seconds);
    return issued;
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

}  // namespace dnsh
