#pragma once
// TXT lookups with ldns against explicit servers (DNS_RESOLVER) or /etc/resolv.conf.
// No caching: every call asks the servers again.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dnsh {

struct DnsServer {
    std::string host;  // IPv4 or IPv6 literal
    std::uint16_t port = 53;
};

// "host[:port][,host[:port]]", IPv6 as "[::1]:53". Throws std::invalid_argument.
std::vector<DnsServer> parseResolverList(std::string_view text);

enum class LookupOutcome { Found, NoRecords, NxDomain, ServFail, Timeout, Failed };

std::string_view toString(LookupOutcome outcome);

struct TxtLookup {
    LookupOutcome outcome = LookupOutcome::Failed;
    std::vector<std::string> values;  // one per TXT record, its strings joined
    std::string name;                 // the name the values were found at (after CNAMEs)
    std::string detail;               // for errors: which server said what
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

private:
    std::vector<DnsServer> servers_;
    std::chrono::milliseconds timeout_;
};

// True when `expected` is one of the TXT values (constant-time per comparison).
bool txtValuesContain(const std::vector<std::string>& values, std::string_view expected);

}  // namespace dnsh
