#pragma once
// The DNS-01 precheck at the authoritative servers (README "How issuance and renewal work",
// `await_dns` and "The authoritative precheck's limits"): a record the customer just changed may
// still be cached by recursive resolvers, and the CA's view is the zone's own servers, so the check
// asks them. The customer controls that zone, its nameservers and their addresses: the check is
// bounded so that a zone can neither hold a scheduler worker past a deadline nor make the service
// probe addresses of its own network.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/ip_network.hpp"
#include "dns/resolver.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

// Nameservers (NS names) of one zone whose addresses are looked up and asked; the others (in
// name order) are left out and counted.
inline constexpr std::size_t kPrecheckMaxNameservers = 8;
// Addresses asked for one name, and at most as many listed in the check: taken in turn from each
// nameserver (the first address of each, then the second, ...), allowed ones first.
inline constexpr std::size_t kPrecheckMaxAddresses = 16;
// The precheck's overall deadline: a quarter of SCHEDULER_LEASE, and never more than this.
inline constexpr std::chrono::milliseconds kPrecheckMaxDuration{20'000};

// How long one precheck (all names of an order) may take with this lease: well under it, so a
// worker never loses its order to another while it waits for a customer's nameservers.
std::chrono::milliseconds precheckBudget(std::chrono::milliseconds lease);

struct PrecheckLimits {
    DnsDeadline deadline;                // every lookup of the check ends by then
    std::vector<IpNetwork> allowed;      // DNS_PRECHECK_ALLOW: non-public networks that may be asked
};

// Follows the CNAME chain from `name` (bounded, through the recursive resolver), finds the zone
// cut of where it ends by its SOA, and asks the zone's nameservers (at most
// kPrecheckMaxNameservers of them, kPrecheckMaxAddresses addresses in all, all at once, without
// recursion, port 53) for the TXT values; nothing is sent after `limits.deadline`. An address
// that is not public unicast (loopback, private, link-local, multicast, unspecified, reserved) is
// never asked unless it is in `limits.allowed`: it is listed as `address_not_allowed`. Passes
// only when every address asked has every expected value (and at least one was asked). What each
// address answered is in `servers`, naming server, question and rcode. A zone none of whose
// addresses may be asked gives `dns_address_not_allowed`; a server that does not answer in time
// gives `dns_timeout`. Names are compared without regard to case (DnsName).
TxtCheck checkTxtAuthoritative(const DnsResolver& resolver, const std::string& name,
                               const std::vector<std::string>& expected,
                               const PrecheckLimits& limits);

// DNS_PRECHECK: the authoritative check above, or a lookup through the resolver (checkTxt,
// which shows the values found through a CNAME into `delegationZone`, DELEGATION_ZONE).
TxtCheck precheckTxt(DnsPrecheck mode, const DnsResolver& resolver, const std::string& name,
                     const std::vector<std::string>& expected, const PrecheckLimits& limits,
                     const std::string& delegationZone = "");

}  // namespace dnsh
