#pragma once
// Delegated validation (README "Zero-touch: one CNAME, then nothing"): the customer points
// _acme-challenge.<domain> with one CNAME at <label>.<DELEGATION_ZONE>, where the service publishes
// the dns-01 values itself.
#include <string>

namespace dnsh {

// "<label>.<zone>": label = the first 32 hex digits of HMAC-SHA256(key: the domain's secret
// verification token, message: the domain name), so nobody without the token can know it (or
// point their own name at it) before the domain is registered.
std::string delegationTarget(const std::string& verificationToken, const std::string& domainName,
                             const std::string& zone);

// True when `name` lies strictly below `zone` (DnsName: any case, with or without the trailing
// dot).
bool isInZone(const std::string& name, const std::string& zone);

}  // namespace dnsh
