#include "admin/renew_now.hpp"

#include <Poco/Data/Statement.h>

#include "core/error.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/domain_lock.hpp"
#include "domain/domain_name.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

void renewNow(Database& database, const std::string& domainId) {
    if (!isDomainId(domainId)) throw Error(ErrorCode::NotFound, "domain not found");
    // The domain's row first, then the certificate (README "Lock order"): the UPDATE's
    // renew_at trigger rewrites the domain's view row, and a renewal being stored or failing
    // holds the domain row and the view row before it updates the domain's certificates. Two
    // statements, as in OrderStore::recordAri: no documented order between a WITH query's locks
    // and the UPDATE's.
    long long changed = 0;
    database.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            if (!lockDomain(session, domainId)) return true;
            changed =
                runSql(session,
                       "UPDATE certificates SET renew_at = now() WHERE id = (SELECT c.id FROM "
                       "certificates c JOIN domains d ON d.id = c.domain_id "
                       "AND d.status = 'active' WHERE c.domain_id = $1 AND NOT EXISTS (SELECT 1 "
                       "FROM acme_orders o WHERE o.domain_id = c.domain_id AND o.status IN "
                       "('pending', 'ready', 'processing')) "
                       "ORDER BY c.created_at DESC, c.id DESC LIMIT 1)",
                       {domainId})
                    .affected();
            return true;
        });
    });
    if (changed == 1) return;
    const bool exists = database.withSession([&](Poco::Data::Session& session) {
        std::string id = domainId;
        int found = 0;
        session << "SELECT count(*)::int FROM domains WHERE id = $1", use(id), into(found), now;
        return found == 1;
    });
    if (!exists) throw Error(ErrorCode::NotFound, "domain not found");
    throw Error(ErrorCode::BadRequest,
                "nothing to renew: the domain is not active, or a renewal is already running");
}

}  // namespace dnsh
