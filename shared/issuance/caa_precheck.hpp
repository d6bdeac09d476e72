#pragma once
// The CAA precheck before any CA order (RFC 8659, RFC 8657): issue-certificate and the
// scheduler's place_order ask it first, so an order the CA would refuse for CAA is never placed.
// Our CA (Pebble in the sandbox) may not check CAA at all; a public CA does, and fails the order
// only after it burnt an authorization.
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "dns/caa_check.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/caa_lookups.hpp"
#include "issuance/persist_probe.hpp"

namespace dnsh {

// The check for every name of an order for `domainName` (the name, and a wildcard's base name),
// for the validation methods we could use for each (RFC 8657 §4): dns-persist-01 where `persist`
// finds the customer's record usable at this CA, then dns-01. The check says which of them CAA
// allows per name; placeOrder answers with those only. The record sets come from `lookups`,
// shared by every CA of the placement (each search asked once), whose deadline the
// _validation-persist lookups end by too. A lookup of this check that deadline cut short makes
// the check LookupFailed, dns_timeout, unless the records found forbid; a cut lookup is never
// kept, so a later CA's check that needs it asks again and is cut at once (the deadline passed),
// while one that needs no further DNS is judged on what was kept.
// `beforeLookup` runs before each DNS question (a scheduler worker keeps its lease there).
CaaCheck precheckCaa(CaaLookups& lookups, AcmeAccount& account, const std::string& domainName,
                     PersistProbe& persist, const std::function<void()>& beforeLookup = [] {});

// Our methods for one name, given its dns-persist-01 record check (none: not asked, the CA is not
// offering the method): dns-persist-01 where the record is usable, then dns-01. A lookup that
// failed (SERVFAIL, timeout) leaves dns-persist-01 unknown: where CAA lists no other method of
// ours the check is then a failed lookup (424, retried), not caa_forbidden.
CaaOurMethods ourCaaMethods(const std::optional<PersistCheck>& persist);

// Whether the order at the CA of `check` would ask the customer nothing: dns-persist-01 usable
// (the customer's record names this CA and our account there) and allowed by CAA (RFC 8657 §4)
// for every name of the order. A check that asked no record (Skipped: the CA lists no
// caaIdentities; the CA not offering the method) says no.
bool persistUsableForEveryName(const CaaCheck& check);

// How long an API client waits before asking again after a CAA lookup failed (Retry-After).
inline constexpr std::chrono::seconds kCaaLookupRetryAfter{30};

// The API answer to a check that did not pass: 400 caa_forbidden (the customer's records must
// change) or 424 dns_servfail / dns_timeout with Retry-After (a DNS failure, as verify answers
// one); `shownJson`, the check as stored (caaCheckJson with its checked_at), as the answer's
// "caa".
Error caaRefusal(const CaaCheck& check, const std::string& shownJson);

}  // namespace dnsh
