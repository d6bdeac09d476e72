#pragma once
// RFC 2136 dynamic updates of TXT records, signed with TSIG (RFC 8945), through ldns: how the
// scheduler publishes dns-01 values in the delegation zone and removes them afterwards.
#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/server_list.hpp"
#include "core/failure_code.hpp"
#include "dns/dns_name.hpp"

namespace dnsh {

struct UpdateResult {
    // None when the server applied it; else dns_update_refused (REFUSED/NOTAUTH: wrong key,
    // not allowed), dns_timeout or dns_servfail.
    std::optional<FailureCode> failure;
    std::string detail;  // server, rcode, name: what an operator needs
    bool ok() const { return !failure; }
};

class DnsUpdater {
public:
    DnsUpdater(DnsName zone, DnsServer primary, TsigKey key, std::chrono::milliseconds timeout);

    // DELEGATION_ZONE, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG; nothing when delegation is off.
    static std::optional<DnsUpdater> fromConfig(const Config& config);

    // RFC 2136 §2.5.1: adds one value to the TXT RRset at `name` (others stay).
    UpdateResult addTxt(const DnsName& name, const std::string& value) const;
    // RFC 2136 §2.5.4: deletes exactly this value (class NONE, TTL 0); other values stay.
    UpdateResult deleteTxt(const DnsName& name, const std::string& value) const;

    const DnsName& zone() const { return zone_; }

private:
    UpdateResult send(const DnsName& name, const std::string& value, bool add) const;

    DnsName zone_;
    DnsServer primary_;
    TsigKey key_;
    std::chrono::milliseconds timeout_;
};

}  // namespace dnsh
