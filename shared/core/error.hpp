#pragma once
// The project's one error type: a code (what kind of failure) and a message for the client.
// http/status.cpp is the one place that maps codes to HTTP statuses.
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
    FailedDependency,  // a DNS lookup the request depends on failed
    BadGateway,        // the ACME CA was unreachable or refused
    DatabaseUnavailable,
    Internal,
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace dnsh
