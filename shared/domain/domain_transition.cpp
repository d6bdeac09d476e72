#include "domain/domain_transition.hpp"

#include <Poco/Data/Statement.h>

#include "core/error.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

bool transitionDomain(Poco::Data::Session& session, const std::string& domainId,
                      const StatusChange& change) {
    if (!canTransition(change.from, change.to))
        throw Error(ErrorCode::Internal, "domain status cannot move from " +
                                             std::string(toString(change.from)) + " to " +
                                             std::string(toString(change.to)));
    const std::string from(toString(change.from)), to(toString(change.to));
    Poco::Data::Statement update(session);
    update << "UPDATE domains SET status = $3, error = nullif($4, ''), "
              "error_code = nullif($5, ''), updated_at = now(), "
              "verified_at = CASE WHEN $3 = 'verified' THEN now() ELSE verified_at END "
              "WHERE id = $1 AND status = $2",
        bind(domainId), bind(from), bind(to), bind(change.error), bind(change.errorCode);
    return update.execute() == 1;
}

}  // namespace dnsh
