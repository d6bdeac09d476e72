#pragma once
// SQL for domains and certificate metadata. Status changes are compare-and-set in SQL so that
// concurrent requests cannot both win.
#include <Poco/Data/Session.h>

#include <optional>
#include <string>

#include "domain/domain.hpp"

namespace dnsh {

class DomainRepository {
public:
    explicit DomainRepository(Poco::Data::Session& session) : session_(session) {}

    // False when the name is already registered (unique constraint, no exception).
    bool insert(const std::string& id, const std::string& domainName, const std::string& token);

    // The domain view: the row, its newest certificate, the live order's challenges, the
    // renewal state and the last check.
    std::optional<Domain> findById(const std::string& id);

    // not_seen, active (the CNAME points at our target) or lost (it did and no longer does).
    void setDelegationStatus(const std::string& id, const std::string& status);

    // POST /domains/{id}/check: the domain's order waiting for DNS becomes due now. False when
    // none of its orders waits for DNS.
    bool makeDnsCheckDue(const std::string& id);

    // The last DNS lookup made for the domain (a JSON object), shown as "checks".
    void recordCheck(const std::string& id, const std::string& checkJson);

    std::optional<CertificateInfo> newestCertificate(const std::string& domainId);

    // The leaf PEM of a certificate ("" when gone), for ARI's CertID. Never for the API.
    std::string certificatePem(const std::string& certificateId);

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
