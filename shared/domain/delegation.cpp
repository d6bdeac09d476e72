#include "domain/delegation.hpp"

#include <span>

#include "core/hex.hpp"
#include "crypto/hmac.hpp"
#include "dns/dns_name.hpp"
#include "domain/domain_name.hpp"

namespace dnsh {

bool isInZone(const std::string& name, const std::string& zone) {
    return !zone.empty() && DnsName(name).isBelow(DnsName(zone));
}

bool pointsAtTarget(const CnameLookup& lookup, const std::string& target) {
    return lookup.found() && lookup.target == DnsName(target);
}

std::string delegationLabel(const std::string& verificationToken, const std::string& domainName) {
    // The base name: a wildcard and its base share _acme-challenge.<base> (RFC 8555 §8.4).
    const auto digest =
        hmacSha256(verificationToken, "dns-handling delegation:" + baseDomain(domainName));
    // The digest's first 16 bytes (of 32): a 32-character label.
    return lowerHex(std::span(digest).first(16));
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
