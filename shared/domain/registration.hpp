#pragma once
// POST /domains' use case: a new domain with its verification token, in one statement; and, when
// that statement is refused, whether the request is the retry of one that registered the name
// with the same Idempotency-Key (draft-ietf-httpapi-idempotency-key-header-06, README "API").
#include <optional>
#include <string>
#include <string_view>

#include "db/database.hpp"
#include "domain/domain.hpp"

namespace dnsh {

// POST /domains' one statement: $1 id, $2 name, $3 token, $4 profile ("" for none), $5 the
// delegation label, $6 the Idempotency-Key ("" for none). Named so that tests/bench/api's row
// floor runs the very same statement.
extern const char* const kInsertDomainSql;

// Registers `requestedName` (normalised; Error(BadRequest) when it is no name) with `profile`
// (the CA profile for every order of the domain, already checked against the CA,
// issuance/profiles.hpp; none: ACME_PROFILE at each order) and `idempotencyKey` (already parsed,
// http/idempotency_key.hpp), which is stored with the row for as long as the row lives.
// The new domain. When a row holds the name or the key already:
// - the first answer again (same id, token and created_at, status pending whatever the row's
//   status is now) when the row holding the key is for the same request (same normalised name,
//   same profile): the retry of a request whose answer was lost (§2.6, "Retry");
// - Error(UnprocessableContent, error_code idempotency_key_reused) when the row holding the key
//   is for another request (another name or profile, §2.7);
// - else Error(Conflict, error_code already_registered): the name was registered by a request
//   with another key, or none. Only the row holding the key ever answers with its token.
Domain registerDomain(Database& database, std::string_view requestedName,
                      const std::optional<std::string>& profile = std::nullopt,
                      const std::optional<std::string>& idempotencyKey = std::nullopt);

}  // namespace dnsh
