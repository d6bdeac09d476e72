#include "domain/domain_transition.hpp"

#include "core/error.hpp"
#include "db/sql.hpp"
#include "db/sql_time.hpp"

namespace dnsh {

std::optional<std::string> transitionDomainAt(Poco::Data::Session& session,
                                              const std::string& domainId,
                                              const StatusChange& change) {
    if (!canTransition(change.from, change.to))
        throw Error(ErrorCode::Internal, "domain status cannot move from " +
                                             std::string(toString(change.from)) + " to " +
                                             std::string(toString(change.to)));
    const std::string from(toString(change.from)), to(toString(change.to));
    // $3::text: status is a domain type (migration 021), and $3 is also compared with text; an
    // uncast parameter would be deduced as both and refused.
    const SqlRows changed =
        runSql(session,
               "UPDATE domains SET status = $3::text, error = nullif($4, ''), "
               "error_code = nullif($5, ''), updated_at = now(), "
               "verified_at = CASE WHEN $3 = 'verified' THEN now() ELSE verified_at END "
               "WHERE id = $1 AND status = $2 RETURNING " DNSH_RFC3339("now()") " AS changed_at",
               {domainId, from, to, change.error,
                change.errorCode ? std::string(toString(*change.errorCode)) : std::string()});
    if (changed.empty()) return std::nullopt;
    return changed.text(0, "changed_at");
}

bool transitionDomain(Poco::Data::Session& session, const std::string& domainId,
                      const StatusChange& change) {
    return transitionDomainAt(session, domainId, change).has_value();
}

}  // namespace dnsh
