#pragma once
// Certificates stored straight into PostgreSQL for the edge tests (self-signed by openssl, keys
// sealed under the stack's KEK, as the scheduler stores them): the agent reads the table, so how
// a row got there does not matter to it; the cases about issuance go through the API instead.
#include <string>
#include <vector>

#include "support/domain_flows.hpp"
#include "support/scratch_database.hpp"

namespace dnsh::test {

struct StoredCertificate {
    std::string id;
    std::string serial;  // upper-case hex, no leading zeros
};

// A certificate as a CA issues one, made for the call by openssl: a leaf for a name (and nothing
// else: CA:FALSE) signed by an intermediate CA that a root CA signed.
struct IssuedChain {
    std::string leafPem;
    std::string intermediatePem;
    std::string rootPem;  // what a client verifies the served chain with
    std::string keyPem;   // the leaf's
};
IssuedChain issueThroughIntermediate(const std::string& name);

// A database of the case's own (migrated, dropped when the case ends) and the domain rows it
// stores there: the agent reads every certificate of its database, and the shared one holds
// other tests' placeholder certificates. Hand url() to the TlsHost.
class EdgeDomains {
public:
    EdgeDomains();
    ~EdgeDomains();
    EdgeDomains(const EdgeDomains&) = delete;
    EdgeDomains& operator=(const EdgeDomains&) = delete;

    // A domain row for `name` ("*.x" for a wildcard); its id.
    std::string add(const std::string& name);
    // The SQL that stores a fresh self-signed certificate for the domain's names (a wildcard's
    // apex included) as its newest; run it alone or many in one transaction. The key is sealed
    // under `kekFile` (default: the stack's KEK), or stored as `sealedKey` when that is given.
    std::string certificateInsert(const std::string& domainId, const std::string& name,
                                  StoredCertificate& stored, const std::string& sealedKey = "",
                                  const std::string& kekFile = "");
    StoredCertificate storeCertificate(const std::string& domainId, const std::string& name);
    // Stores `leafPem` and `chainPem` as given (a CA's blank lines and CRLF kept) and `keyPem`
    // sealed under the stack's KEK, as the domain's newest certificate.
    StoredCertificate storeIssued(const std::string& domainId, const std::string& leafPem,
                                  const std::string& chainPem, const std::string& keyPem);
    void remove(const std::string& id);

    const std::string& url() const { return database_.url(); }
    void run(const std::string& sql) { database_.run(sql); }
    std::string text(const std::string& sql) { return database_.text(sql); }

private:
    // The INSERT of one certificate row; fills `stored`.
    static std::string insertSql(const std::string& domainId, const std::string& leafPem,
                                 const std::string& chainPem, const std::string& sealedKey,
                                 StoredCertificate& stored);

    ScratchDatabase database_;
};

// "<label><i>.<parent>": the i-th of many domains below one parent.
std::string numberedName(const std::string& label, int i, const std::string& parent);

// The serial of a domain's newest stored certificate (openssl's spelling, normalised).
std::string newestSerial(const std::string& domainId);

}  // namespace dnsh::test
