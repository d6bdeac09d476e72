#include "domain/domain_lock.hpp"

#include "db/sql.hpp"

namespace dnsh {

bool lockDomain(Poco::Data::Session& session, const std::string& domainId) {
    return !runSql(session, "SELECT id FROM domains WHERE id = $1 FOR NO KEY UPDATE", {domainId})
                .empty();
}

bool lockDomainToDelete(Poco::Data::Session& session, const std::string& domainId) {
    return !runSql(session, "SELECT id FROM domains WHERE id = $1 FOR UPDATE", {domainId}).empty();
}

}  // namespace dnsh
