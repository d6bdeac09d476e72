#pragma once
// Certificates stored straight into PostgreSQL for the edge tests (self-signed by openssl, keys
// sealed under the stack's KEK, as the scheduler stores them): the agent reads the table, so how
// a row got there does not matter to it; the cases about issuance go through the API instead.
#include <string>
#include <vector>

#include "support/domain_flows.hpp"

namespace dnsh::test {

struct StoredCertificate {
    std::string id;
    std::string serial;  // upper-case hex, no leading zeros
};

// Domain rows the case inserts, deleted (with their certificates) when it ends.
class EdgeDomains {
public:
    EdgeDomains() = default;
    ~EdgeDomains();
    EdgeDomains(const EdgeDomains&) = delete;
    EdgeDomains& operator=(const EdgeDomains&) = delete;

    // A domain row for `name` ("*.x" for a wildcard); its id.
    std::string add(const std::string& name);
    // The SQL that stores a fresh self-signed certificate for the domain's names (a wildcard's
    // apex included) as its newest; run it alone or many in one transaction.
    std::string certificateInsert(const std::string& domainId, const std::string& name,
                                  StoredCertificate& stored, const std::string& sealedKey = "");
    StoredCertificate storeCertificate(const std::string& domainId, const std::string& name);
    void remove(const std::string& id);

private:
    std::vector<std::string> ids_;
};

// "<label><i>.<parent>": the i-th of many domains below one parent.
std::string numberedName(const std::string& label, int i, const std::string& parent);

// The serial of a domain's newest stored certificate (openssl's spelling, normalised).
std::string newestSerial(const std::string& domainId);

}  // namespace dnsh::test
