#pragma once
// The DNS-01 precheck at the authoritative servers (DESIGN.md "Delegated validation"): a record
// the customer just changed may still be cached by recursive resolvers, and the CA's view is the
// zone's own servers, so the check asks them, every one.
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

// Follows the CNAME chain from `name` (bounded, through the recursive resolver), finds the zone
// cut of where it ends by its SOA, and asks every nameserver of that zone (each address of each
// NS, without recursion, port 53) for the TXT values. Passes only when every server has every
// expected value. What each server answered is in `servers`, naming server, question and rcode.
TxtCheck checkTxtAuthoritative(const DnsResolver& resolver, const std::string& name,
                               const std::vector<std::string>& expected);

// DNS_PRECHECK: the authoritative check above, or a lookup through the resolver (checkTxt).
TxtCheck precheckTxt(DnsPrecheck mode, const DnsResolver& resolver, const std::string& name,
                     const std::vector<std::string>& expected);

}  // namespace dnsh
