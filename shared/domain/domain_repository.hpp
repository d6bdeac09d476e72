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

    std::optional<Domain> findById(const std::string& id);

    // UPDATE ... WHERE id = $1 AND status = $2; true when this call made the change.
    bool compareAndSetStatus(const std::string& id, DomainStatus from, DomainStatus to);

    std::optional<CertificateInfo> newestCertificate(const std::string& domainId);

private:
    Poco::Data::Session& session_;
};

}  // namespace dnsh
