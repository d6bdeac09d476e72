#pragma once
// TXT lookups with ldns against explicit servers (DNS_RESOLVER) or /etc/resolv.conf.
// No caching: every call asks the servers again.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/server_list.hpp"
#include "dns/dns_name.hpp"

namespace dnsh {

enum class LookupOutcome { Found, NoRecords, NxDomain, ServFail, Timeout, Failed };

std::string_view toString(LookupOutcome outcome);

struct TxtLookup {
    LookupOutcome outcome = LookupOutcome::Failed;
    std::vector<std::string> values;  // one per TXT record, its strings joined
    std::string name;                 // the name the values were found at (after CNAMEs)
    std::string detail;               // for errors: which server said what
};

// One DNS question's answer, for lookups other than the TXT one below (precheck, CNAMEs).
enum class RecordType { Txt, Cname, Soa, Ns, A, Aaaa };

struct DnsRecord {
    std::string owner;  // without the trailing dot
    RecordType type = RecordType::Txt;
    std::string data;  // TXT: its strings joined; CNAME/NS/SOA: the name; A/AAAA: the address
};

struct DnsResponse {
    LookupOutcome outcome = LookupOutcome::Failed;  // Found: NOERROR (records may still be none)
    std::vector<DnsRecord> answer;
    std::vector<DnsRecord> authority;
    std::string detail;  // for errors: which server said what
};

using DnsDeadline = std::chrono::steady_clock::time_point;

// Asks `server` (nullptr: /etc/resolv.conf) once; `recursive` sets the RD bit (an authoritative
// server is asked without it, RFC 1034 §4.3.1). A truncated answer is asked again over TCP. With
// a `deadline` the whole exchange ends by then (each wait is the shorter of `timeout` and what
// is left; nothing is sent once it has passed: Timeout).
DnsResponse queryServer(const DnsServer* server, const std::string& name, RecordType type,
                        bool recursive, std::chrono::milliseconds timeout,
                        std::optional<DnsDeadline> deadline = std::nullopt);

// What is at a name in place of a CNAME: Found (its target), NoRecords or NxDomain (an answer
// that there is none), or an error (ServFail, Timeout, Failed: nothing is known).
struct CnameLookup {
    LookupOutcome outcome = LookupOutcome::Failed;
    DnsName target;      // Found only
    std::string detail;  // errors: which server said what
    bool found() const { return outcome == LookupOutcome::Found; }
    // An answer saying the name holds no CNAME (not an error).
    bool absent() const {
        return outcome == LookupOutcome::NoRecords || outcome == LookupOutcome::NxDomain;
    }
};

class DnsResolver {
public:
    // An empty server list means the system's /etc/resolv.conf.
    DnsResolver(std::vector<DnsServer> servers, std::chrono::milliseconds timeout);

    // DNS_RESOLVER (or /etc/resolv.conf when empty) and DNS_TIMEOUT of the configuration.
    static DnsResolver fromConfig(const Config& config);

    // Looks up TXT records at `name`, following a bounded chain of CNAMEs. Servers are tried in
    // order; the next one is asked only after a timeout or SERVFAIL.
    TxtLookup lookupTxt(const std::string& name) const;

    // A recursive query to the configured servers, the next one asked only after a timeout or
    // SERVFAIL (as lookupTxt).
    // With a deadline, the servers are asked only while it has not passed, each at most until it.
    DnsResponse query(const std::string& name, RecordType type,
                      std::optional<DnsDeadline> deadline = std::nullopt) const;

    // The CNAME at `name`, telling "there is none" (NOERROR or NXDOMAIN without it) from a lookup
    // that failed (SERVFAIL, timeout).
    CnameLookup lookupCname(const std::string& name) const;

    // The target of the CNAME at `name` (lower case, no trailing dot), "" when there is none or
    // the lookup failed (lookupCname tells them apart).
    std::string cnameTarget(const std::string& name) const;

    std::chrono::milliseconds timeout() const { return timeout_; }

private:
    std::vector<DnsServer> servers_;
    std::chrono::milliseconds timeout_;
};

// True when `expected` is one of the TXT values (constant-time per comparison).
bool txtValuesContain(const std::vector<std::string>& values, std::string_view expected);

}  // namespace dnsh
