#pragma once
// The dns-persist-01 challenge object's own member (draft-ietf-acme-dns-persist-00 §3.1):
// "issuer-domain-names", the names the CA accepts as the issuer of a _validation-persist record.
#include <Poco/JSON/Object.h>

#include <cstddef>
#include <string>
#include <vector>

namespace dnsh::acme {

// §3.1: the CA sends at most 10, each at most 253 octets.
inline constexpr std::size_t kMaxIssuerDomainNames = 10;
inline constexpr std::size_t kMaxIssuerDomainNameBytes = 253;

// The challenge's issuer-domain-names. §3.1: a client MUST reject a challenge whose array is
// empty or longer than kMaxIssuerDomainNames; so does one with an entry that is not a non-empty
// string of at most kMaxIssuerDomainNameBytes: empty then, as for a challenge without the member
// (an empty list: dns-persist-01 cannot be used with it).
std::vector<std::string> parseIssuerDomainNames(const Poco::JSON::Object& challenge);

}  // namespace dnsh::acme
