#pragma once
// Delegated validation (README "Zero-touch: one CNAME, then nothing"): the customer points
// _acme-challenge.<domain> with one CNAME at <label>.<DELEGATION_ZONE>, where the service publishes
// the dns-01 values itself.
#include <string>

#include "dns/resolver.hpp"
#include "domain/domain.hpp"

namespace dnsh {

// "<label>.<zone>": label = the first 32 hex digits of HMAC-SHA256(key: the domain's secret
// verification token, message: the domain name), so nobody without the token can know it (or
// point their own name at it) before the domain is registered.
std::string delegationTarget(const std::string& verificationToken, const std::string& domainName,
                             const std::string& zone);

// The label alone: fixed for the domain's life (its token and name never change), so it is
// stored with the domain when registered (migration 022) and a view reads it instead of computing
// an HMAC per view.
std::string delegationLabel(const std::string& verificationToken, const std::string& domainName);

// The domain's target: its stored label, or the label computed for a domain without one.
std::string delegationTarget(const Domain& domain, const std::string& zone);

// True when a lookup of _acme-challenge.<name> found its CNAME pointing at `target`, the domain's
// delegation target (one CNAME deep: README "Zero-touch" asks for exactly one). Absent, another
// target, or a lookup that failed: false.
bool pointsAtTarget(const CnameLookup& lookup, const std::string& target);

// True when `name` lies strictly below `zone` (DnsName: any case, with or without the trailing
// dot).
bool isInZone(const std::string& name, const std::string& zone);

}  // namespace dnsh
