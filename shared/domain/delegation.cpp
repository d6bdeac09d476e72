#include "domain/delegation.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "domain/domain_name.hpp"

namespace dnsh {

bool isInZone(const std::string& name, const std::string& zone) {
    const std::string suffix = "." + zone;
    return !zone.empty() && name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string delegationTarget(const std::string& verificationToken, const std::string& domainName,
                             const std::string& zone) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    // The base name: a wildcard and its base share _acme-challenge.<base> (RFC 8555 §8.4).
    const std::string message = "dns-handling delegation:" + baseDomain(domainName);
    if (HMAC(EVP_sha256(), verificationToken.data(), static_cast<int>(verificationToken.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
             &length) == nullptr)
        throw std::runtime_error("HMAC-SHA256 failed");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string label;
    for (unsigned int i = 0; i < 16 && i < length; ++i) {
        label.push_back(kDigits[digest[i] >> 4]);
        label.push_back(kDigits[digest[i] & 0x0f]);
    }
    return label + "." + zone;
}

}  // namespace dnsh
