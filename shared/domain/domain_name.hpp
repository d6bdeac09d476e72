#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// Normalises a customer's domain name (case, trailing dot, IDN -> A-labels per UTS #46 / IDNA 2008)
// and validates it (LDH labels, at least two labels, not an IP address, at most 233 characters
// after a wildcard's "*.", so that _acme-challenge.<name> and _validation-persist.<name> fit in
// RFC 1035's 253).
// "*.example.com" is a wildcard: "*." followed by such a name.
// Throws Error(BadRequest) with a message saying what is wrong.
std::string normalizeDomainName(std::string_view input);

bool isWildcard(std::string_view domainName);
// "example.com" for "*.example.com"; the name itself otherwise.
std::string baseDomain(std::string_view domainName);
// What the certificate covers: "*.example.com" and "example.com" for a wildcard.
std::vector<std::string> certificateNames(std::string_view domainName);

// RFC 8555 §8.4: the label the dns-01 TXT record is published under.
inline constexpr std::string_view kAcmeChallengeLabel = "_acme-challenge";

// "_acme-challenge.<domain>", the name that carries the TXT record (RFC 8555 §8.4); the base
// name's for a wildcard.
std::string challengeName(std::string_view domainName);

// Ids are 32 lowercase hex characters (16 random bytes).
bool isDomainId(std::string_view text);

}  // namespace dnsh
