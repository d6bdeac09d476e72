#pragma once
// The CA's certificate download (RFC 8555 §7.4.2) checked before anything of it is kept: the
// leaf and chain are stored (PostgreSQL), served by GET /domains/{id}/certificate and written
// into the edge's HAProxy and nginx files, and sent by them in every TLS handshake. A download
// may be 1 MiB (transport.cpp); this keeps it to what a certificate chain is.
#include <openssl/evp.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"

namespace dnsh::acme {

// How many certificates a download may hold, the leaf included. RFC 8555 §7.4.2: "the end-entity
// certificate first, then the chain"; a TLS server sends that list whole in every handshake, each
// certificate after the first certifying the one before it (RFC 5246 §7.4.2, RFC 8446 §4.4.2).
// Web PKI chains hold 2 to 4 (Let's Encrypt's 2 or 3, Pebble's 2).
inline constexpr std::size_t kMaxChainCertificates = 10;

// A download that reads as a certificate, but not one for this order: a leaf for another key than
// the CSR's or not listing the order's names. The CA issued it so, and downloading it again gets
// the same: the order fails at once (ca_refused), not after an hour of retries.
class CertificateNotForOrder : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// `body`, the download, as the certificate to store, when it is application/pem-certificate-chain
// (RFC 8555 §9.1; crypto/certificate.hpp's pemCertificateChainFault) of 1 to
// kMaxChainCertificates certificates whose first (the leaf) has `certificateKey`'s public key (the
// CSR's, RFC 8555 §7.4) and lists every one of `dnsNames` (the order's identifiers) as a
// subjectAltName. A download that is no such chain is the CA's error (an AcmeError of status 502,
// retried: a proxy may have cut or garbled it); one whose leaf is for another key or other names,
// CertificateNotForOrder. Never stored.
IssuedCertificate issuedCertificate(std::string_view body, EVP_PKEY* certificateKey,
                                    const std::vector<std::string>& dnsNames);

}  // namespace dnsh::acme
