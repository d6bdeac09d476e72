#pragma once
// The API's machine-readable reasons (README "API" error_code; "error_code" of an error answer,
// of a failed domain and of a failed renewal): one closed set, spelled once in kFailureCodeNames
// below (README and deploy/api/openapi.json list the same: tests/unit/error_code_docs_test.cpp).
#include <optional>
#include <string_view>

#include "core/enum_names.hpp"

namespace dnsh {

enum class FailureCode {
    TxtNotFound,
    TxtMismatch,
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
    // The CA refused our account (RFC 8555 §7.3): a missing or wrong External Account Binding
    // key (§7.3.4), terms not agreed; the operator has to act.
    CaAccount,
    // No configured CA could take the order (every one unreachable, rate-limited, out of order
    // budget, refusing our account or not allowed by CAA): README "Several CAs".
    NoCaAvailable,
    Timeout,
    DelegationLost,
    CaaForbidden,  // the name's CAA records do not let the CA issue (RFC 8659 §4)
    // POST /domains' 409: the name is registered, by a request with another Idempotency-Key or
    // none (domain/registration.hpp).
    AlreadyRegistered,
    // POST /domains' 422: the Idempotency-Key was stored with another request, another name or
    // profile (draft-ietf-httpapi-idempotency-key-header-06 §2.7).
    IdempotencyKeyReused,
    Internal,
};

inline constexpr EnumNames<FailureCode, 21> kFailureCodeNames{{{
    {FailureCode::TxtNotFound, "txt_not_found"},
    {FailureCode::TxtMismatch, "txt_mismatch"},
    {FailureCode::CnameMismatch, "cname_mismatch"},
    {FailureCode::DnsNxdomain, "dns_nxdomain"},
    {FailureCode::DnsServfail, "dns_servfail"},
    {FailureCode::DnsTimeout, "dns_timeout"},
    {FailureCode::DnsAddressNotAllowed, "dns_address_not_allowed"},
    {FailureCode::DnsUpdateRefused, "dns_update_refused"},
    {FailureCode::CaUnreachable, "ca_unreachable"},
    {FailureCode::CaRefused, "ca_refused"},
    {FailureCode::CaInvalid, "ca_invalid"},
    {FailureCode::CaRateLimited, "ca_rate_limited"},
    {FailureCode::InvalidProfile, "invalid_profile"},
    {FailureCode::CaAccount, "ca_account"},
    {FailureCode::NoCaAvailable, "no_ca_available"},
    {FailureCode::Timeout, "timeout"},
    {FailureCode::DelegationLost, "delegation_lost"},
    {FailureCode::CaaForbidden, "caa_forbidden"},
    {FailureCode::AlreadyRegistered, "already_registered"},
    {FailureCode::IdempotencyKeyReused, "idempotency_key_reused"},
    {FailureCode::Internal, "internal"},
}}};

std::string_view toString(FailureCode code);
std::optional<FailureCode> parseFailureCode(std::string_view text);

}  // namespace dnsh
