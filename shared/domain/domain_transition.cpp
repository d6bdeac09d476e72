#include "domain/domain_transition.hpp"

#include "core/error.hpp"
#include "db/sql.hpp"

namespace dnsh {

bool transitionDomain(Poco::Data::Session& session, const std::string& domainId,
                      const StatusChange& change) {
    if (!canTransition(change.from, change.to))
        throw Error(ErrorCode::Internal, "domain status cannot move from " +
                                             std::string(toString(change.from)) + " to " +
                                             std::string(toString(change.to)));
    const std::string from(toString(change.from)), to(toString(change.to));
    return runSql(session,
                  "UPDATE domains SET status = $3, error = nullif($4, ''), "
                  "error_code = nullif($5, ''), updated_at = now(), "
                  "verified_at = CASE WHEN $3 = 'verified' THEN now() ELSE verified_at END "
                  "WHERE id = $1 AND status = $2",
                  {domainId, from, to, change.error, change.errorCode})
               .affected() == 1;
}

}  // namespace dnsh
