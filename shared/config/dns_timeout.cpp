// DNS_TIMEOUT against SCHEDULER_LEASE: the servers one lookup may ask (resolv.conf's
// nameservers when DNS_RESOLVER is unset), the longest lookup, and the scheduler's check.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "config/duration.hpp"

namespace dnsh {

std::size_t resolvConfNameservers(const std::string& path) {
    std::ifstream file(path);
    std::size_t count = 0;
    std::string line;
    while (std::getline(file, line)) {
        std::istringstream words(line);
        std::string keyword;
        words >> keyword;
        for (char& c : keyword) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // ldns takes the keyword in any case; a line put out of use ('#', ';') starts otherwise.
        if (keyword == "nameserver") ++count;
    }
    return std::max<std::size_t>(count, 1);
}

std::chrono::milliseconds longestDnsLookup(const Config& config) {
    return config.dnsTimeout * kLookupWaitsPerServer *
           static_cast<std::chrono::milliseconds::rep>(config.dnsServerCount);
}

void requireDnsTimeoutWithinLease(const Config& config) {
    const std::chrono::milliseconds longest = longestDnsLookup(config);
    if (longest < config.leaseDuration) return;
    const std::string servers =
        std::to_string(config.dnsServerCount) +
        (config.dnsResolver.empty()
             ? std::string(" nameserver(s) of ") + kSystemResolvConf + " (DNS_RESOLVER unset)"
             : " server(s) in DNS_RESOLVER");
    throw ConfigError("invalid DNS_TIMEOUT=\"" + formatDuration(config.dnsTimeout) +
                      "\": with " + servers + " one lookup may take " +
                      formatDuration(longest) +
                      " (two waits at each: UDP, then TCP for a truncated answer), not shorter "
                      "than SCHEDULER_LEASE (" +
                      formatDuration(config.leaseDuration) +
                      "), which is extended before each lookup; shorten DNS_TIMEOUT (or leave it "
                      "unset), list fewer servers or lengthen SCHEDULER_LEASE");
}

}  // namespace dnsh
