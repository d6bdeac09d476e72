#pragma once
// The API's machine-readable reasons (README "API" error_code; "error_code" of an error answer, of a
// failed domain and of a failed renewal): one closed set, spelled once in failure_code.cpp.
#include <optional>
#include <string_view>

namespace dnsh {

enum class FailureCode {
    TxtNotFound,
    TxtMismatch,
    CnameNotFound,
    CnameMismatch,
    DnsNxdomain,
    DnsServfail,
    DnsTimeout,
    DnsAddressNotAllowed,
    DnsUpdateRefused,  // RFC 2136 update refused (REFUSED/NOTAUTH, a bad TSIG signature)
    CaUnreachable,
    CaRefused,
    CaInvalid,
    CaRateLimited,
    // The CA does not offer the order's profile (urn:ietf:params:acme:error:invalidProfile,
    // draft-ietf-acme-profiles), or ACME_PROFILE names one its directory does not list.
    InvalidProfile,
    Timeout,
    DelegationLost,
    CaaForbidden,  // the name's CAA records do not let the CA issue (RFC 8659 §4)
    Internal,
};

std::string_view toString(FailureCode code);
std::optional<FailureCode> parseFailureCode(std::string_view text);

}  // namespace dnsh
