#include "domain/delegation.hpp"

#include "crypto/hmac.hpp"
#include "dns/dns_name.hpp"
#include "domain/domain_name.hpp"

namespace dnsh {

bool isInZone(const std::string& name, const std::string& zone) {
    return !zone.empty() && DnsName(name).isBelow(DnsName(zone));
}

std::string delegationLabel(const std::string& verificationToken, const std::string& domainName) {
    // The base name: a wildcard and its base share _acme-challenge.<base> (RFC 8555 §8.4).
    const auto digest =
        hmacSha256(verificationToken, "dns-handling delegation:" + baseDomain(domainName));
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string label;
    for (std::size_t i = 0; i < 16 && i < digest.size(); ++i) {
        label.push_back(kDigits[digest[i] >> 4]);
        label.push_back(kDigits[digest[i] & 0x0f]);
    }
    return label;
}

std::string delegationTarget(const std::string& verificationToken, const std::string& domainName,
                             const std::string& zone) {
    return delegationLabel(verificationToken, domainName) + "." + zone;
}

std::string delegationTarget(const Domain& domain, const std::string& zone) {
    if (domain.delegationLabel) return *domain.delegationLabel + "." + zone;
    return delegationTarget(domain.verificationToken, domain.domainName, zone);
}

}  // namespace dnsh
