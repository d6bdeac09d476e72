#pragma once
// The project's one error type: a code (what kind of failure) and a message for the client.
// httpStatus() in http/response.cpp is the one place that maps codes to HTTP statuses.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace dnsh {

enum class ErrorCode {
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    // Well formed, but it contradicts what the service holds: an Idempotency-Key reused with
    // another request (draft-ietf-httpapi-idempotency-key-header-06 §2.7).
    UnprocessableContent,
    FailedDependency,  // a DNS lookup the request depends on failed
    TooManyRequests,   // too soon (a backoff, a limit); Retry-After says when to ask again
    BadGateway,        // the ACME CA was unreachable or refused
    DatabaseUnavailable,
    // A statement ran past DB_STATEMENT_TIMEOUT or waited past DB_LOCK_TIMEOUT (or PostgreSQL
    // broke a deadlock by aborting it, or a migration outdated a transaction's prepared
    // statement, db/prepared_statements.cpp), or PostgreSQL is short of disk or memory, or
    // cannot read or write its storage (SQLSTATE classes 53 and 58, Database::withSession):
    // rolled back, nothing changed, the client may retry.
    DatabaseTimeout,
    Internal,
};

class Error : public std::runtime_error {
public:
    // `errorCode`: the machine-readable reason (README "API", `error_code` values), sent as the
    // response's "error_code" when not empty.
    Error(ErrorCode code, const std::string& message, std::string errorCode = "")
        : std::runtime_error(message), code_(code), errorCode_(std::move(errorCode)) {}
    // TooManyRequests: ask again after `retryAfter` (sent as Retry-After, RFC 9110 §10.2.3,
    // rounded up to whole seconds).
    static Error tooSoon(const std::string& message, std::chrono::milliseconds retryAfter) {
        Error error(ErrorCode::TooManyRequests, message);
        error.retryAfter(std::chrono::ceil<std::chrono::seconds>(retryAfter));
        return error;
    }
    ErrorCode code() const noexcept { return code_; }
    const std::string& errorCode() const noexcept { return errorCode_; }
    // The database failed (timed out, went away, refused a write), not the work asked of it.
    bool fromDatabase() const noexcept {
        return code_ == ErrorCode::DatabaseTimeout || code_ == ErrorCode::DatabaseUnavailable;
    }

    // When the client may usefully try again (sent as Retry-After, RFC 9110 §10.2.3; at least
    // 1 s there, whatever is set here: errorResponse in http/response.cpp).
    Error& retryAfter(std::chrono::seconds delay) {
        retryAfter_ = delay;
        return *this;
    }
    std::optional<std::chrono::seconds> retryAfter() const noexcept { return retryAfter_; }

    // A member of the answer beside "error" and "error_code": `json`, a JSON value (e.g. the
    // CAA check that refused an order), under `key`.
    Error& detail(std::string key, std::string json) {
        detailKey_ = std::move(key);
        detailJson_ = std::move(json);
        return *this;
    }
    const std::string& detailKey() const noexcept { return detailKey_; }
    const std::string& detailJson() const noexcept { return detailJson_; }

private:
    ErrorCode code_;
    std::string errorCode_;
    std::optional<std::chrono::seconds> retryAfter_;
    std::string detailKey_;
    std::string detailJson_;
};

}  // namespace dnsh
