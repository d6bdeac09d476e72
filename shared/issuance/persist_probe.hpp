#pragma once
// The dns-persist-01 question placeOrder asks per authorization (draft-ietf-acme-dns-persist-00
// §4.1.2), answered through the resolver: the customer's _validation-persist record looked up
// and judged for the CA's issuer-domain-names and our account (dns/persist_lookup.hpp). It keeps
// the check to show (the view's checks.persist): the first that was not usable, else the last.
// A record that is not usable sends the authorization to dns-01 (or, delegated, the CNAME path)
// as before, the reason logged and kept.
#include <optional>
#include <string>
#include <vector>

#include "dns/persist_lookup.hpp"
#include "dns/resolver.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

class PersistProbe {
public:
    // `domainId` only names the domain in log lines.
    PersistProbe(const DnsResolver& resolver, std::string domainId)
        : resolver_(resolver), domainId_(std::move(domainId)) {}
    PersistProbe(const PersistProbe&) = delete;
    PersistProbe& operator=(const PersistProbe&) = delete;

    // For AcmeAccount::placeOrder; refers to this probe, which must outlive the call.
    PersistRecordUsable question();
    // persistCheckJson of the check to show; none when nothing was asked.
    std::optional<std::string> checkJson() const;

private:
    bool usable(const std::string& name, const std::vector<std::string>& issuerDomains,
                const std::string& accountUrl);

    const DnsResolver& resolver_;
    std::string domainId_;
    std::optional<PersistCheck> shown_;
};

}  // namespace dnsh
