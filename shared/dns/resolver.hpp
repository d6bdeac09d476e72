#pragma once
// The one DNS engine: a question to one server with ldns (queryServer), the failover over the
// configured servers (DnsResolver), and the CNAME follower (followCnames) that the TXT lookup
// and the precheck share. Servers are DNS_RESOLVER's, or /etc/resolv.conf's. No caching of
// answers: every call asks the servers again (only which server answered last is kept).
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/server_list.hpp"
#include "dns/dns_name.hpp"
#include "dns/lookup_outcome.hpp"

namespace dnsh {

// One DNS question's answer.
enum class RecordType { Txt, Cname, Soa, Ns, A, Aaaa, Caa };

struct DnsRecord {
    DnsName owner;
    RecordType type = RecordType::Txt;
    // TXT: its strings joined; CNAME/NS/SOA: the name (without the trailing dot); A/AAAA: the
    // address; CAA: the RDATA bytes as received (RFC 8659 §4.1, parsed by dns/caa_record.hpp).
    std::string data;
};

struct DnsResponse {
    LookupOutcome outcome = LookupOutcome::Failed;  // Found: NOERROR (records may still be none)
    std::vector<DnsRecord> answer;
    std::vector<DnsRecord> authority;
    std::string detail;  // for errors: which server said what
};

// The data of the records of `type` owned by `owner`, in answer order.
std::vector<std::string> recordData(const std::vector<DnsRecord>& records, RecordType type,
                                    const DnsName& owner);

using DnsDeadline = std::chrono::steady_clock::time_point;

// Asks `server` (nullptr: /etc/resolv.conf) once; `recursive` sets the RD bit (an authoritative
// server is asked without it, RFC 1034 §4.3.1). A truncated answer (TC set, or a datagram cut
// before the records its header counts) is asked again over TCP of the server that answered,
// connection and whole answer within one wait (dns/dns_tcp.hpp). With a `deadline` the whole
// exchange ends by then (each wait, UDP's and TCP's, is the shorter of `timeout` and what is
// left; nothing is sent once it has passed: Timeout).
DnsResponse queryServer(const DnsServer* server, const DnsName& name, RecordType type,
                        bool recursive, std::chrono::milliseconds timeout,
                        std::optional<DnsDeadline> deadline = std::nullopt);

// CNAMEs followed from one name, at most: a longer chain is treated as broken.
inline constexpr int kMaxCnameHops = 8;

struct CnameChain {
    DnsName end;           // where the chain ends: the name itself when it holds no CNAME
    DnsResponse response;  // the last answer: for `end`, unless the chain was too long
    bool tooLong = false;  // more than kMaxCnameHops CNAMEs
};

using DnsQuestion = std::function<DnsResponse(const DnsName& name, RecordType type)>;

// Follows the CNAME chain from `name` to where records of `type` are (RFC 1034 §4.3.2): along
// the chain a recursive resolver puts in its answer, asking `ask` again at the last target when
// the answer stops there. With `type` Cname it asks each name for its CNAME and ends at the first
// name without one. An error or NXDOMAIN ends it where it was asked.
CnameChain followCnames(const DnsName& name, RecordType type, const DnsQuestion& ask);

struct TxtLookup {
    LookupOutcome outcome = LookupOutcome::Failed;
    std::vector<std::string> values;  // one per TXT record, its strings joined
    DnsName name;                     // the name the values were found at (after CNAMEs)
    std::string detail;               // for errors: which server said what
};

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

// The `nameserver` lines of the resolv.conf at `path` as ldns reads them (every one, in file
// order, at port 53); none when it cannot be read or lists none.
std::vector<DnsServer> resolvConfServers(const std::string& path);

class DnsResolver {
public:
    // An empty server list means the nameservers of the system's /etc/resolv.conf, read again at
    // every lookup (a change to the file applies at once, as when ldns read it).
    DnsResolver(std::vector<DnsServer> servers, std::chrono::milliseconds timeout);

    // DNS_RESOLVER (or /etc/resolv.conf when empty) and DNS_TIMEOUT of the configuration.
    static DnsResolver fromConfig(const Config& config);

    // A recursive query to the configured servers (or resolv.conf's), each at most once: first
    // the one that last answered through this list in this process (the first listed until one
    // has), then the ones after it in list order, wrapping round, the next one asked only after
    // a timeout, unreachable server or SERVFAIL. With a deadline, the servers are asked only
    // while it has not passed, each at most until it. Counted in dnsh_dns_lookups_total.
    DnsResponse query(const DnsName& name, RecordType type,
                      std::optional<DnsDeadline> deadline = std::nullopt) const;

    // The TXT records at `name`, CNAMEs followed (followCnames); counted once. With a deadline,
    // every question of it as query() takes one.
    TxtLookup lookupTxt(const DnsName& name,
                        std::optional<DnsDeadline> deadline = std::nullopt) const;

    // The CNAME at `name`, telling "there is none" (NOERROR or NXDOMAIN without it) from a lookup
    // that failed (SERVFAIL, timeout); with a deadline, as query() takes one.
    CnameLookup lookupCname(const DnsName& name,
                            std::optional<DnsDeadline> deadline = std::nullopt) const;

    std::chrono::milliseconds timeout() const { return timeout_; }

private:
    // query() without counting.
    DnsResponse ask(const DnsName& name, RecordType type,
                    std::optional<DnsDeadline> deadline) const;

    std::vector<DnsServer> servers_;  // empty: /etc/resolv.conf's, read by ask()
    std::chrono::milliseconds timeout_;
    // Where ask() starts: the index of the server that last answered, shared by every resolver
    // of the process over the same list (nullptr for /etc/resolv.conf: looked up per lookup).
    std::atomic<std::size_t>* lastAnswered_ = nullptr;
};

// True when `expected` is one of the TXT values (constant-time per comparison).
bool txtValuesContain(const std::vector<std::string>& values, std::string_view expected);

}  // namespace dnsh
