#include "acme/certificate_chain.hpp"

#include <optional>
#include <stdexcept>
#include <string>

#include "acme/client_answers.hpp"
#include "acme/problem.hpp"

namespace dnsh::acme {

namespace {

const std::string kDownload = "to the certificate download (RFC 8555 §7.4.2) ";

// The CA answered what it must not: its error, as an order answer of a shape RFC 8555 does not
// allow is (client_answers.hpp): 502, retried and then failed `ca_refused` by the scheduler.
AcmeError refusal(const std::string& what) {
    return client_answers::protocolError(kDownload + what);
}

// Read whole, but not a certificate for this order: certificate_chain.hpp.
CertificateNotForOrder notForOrder(const std::string& what) {
    return CertificateNotForOrder("the CA's answer " + kDownload + what);
}

}  // namespace

IssuedCertificate issuedCertificate(std::string_view body, EVP_PKEY* certificateKey,
                                    const std::vector<std::string>& dnsNames) {
    if (const std::string fault = pemCertificateChainFault(body, kMaxChainCertificates);
        !fault.empty())
        throw refusal(fault);
    IssuedCertificate issued;
    try {
        issued = parseCertificateChain(std::string(body));
    } catch (const std::runtime_error&) {
        throw refusal("has a leaf whose validity cannot be read");
    }
    // A certificate for another key is one we cannot serve: the CA issued it for another CSR.
    if (!certificateMatchesKey(issued.leafPem, certificateKey))
        throw notForOrder("has a leaf for another public key than the order's CSR");
    // RFC 8555 §7.4: the CA issues for the order's identifiers, which the CSR names.
    if (const std::optional<std::string> missing = nameNotListed(issued.leafPem, dnsNames))
        throw notForOrder("has a leaf that does not list " + *missing +
                          ", one of the order's names");
    return issued;
}

}  // namespace dnsh::acme
