#include "core/failure_code.hpp"

#include "core/enum_names.hpp"

namespace dnsh {

namespace {

constexpr EnumNames<FailureCode, 22> kFailureCodes{{{
    {FailureCode::TxtNotFound, "txt_not_found"},
    {FailureCode::TxtMismatch, "txt_mismatch"},
    {FailureCode::CnameNotFound, "cname_not_found"},
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

}  // namespace

std::string_view toString(FailureCode code) {
    return kFailureCodes.toString(code);
}

std::optional<FailureCode> parseFailureCode(std::string_view text) {
    return kFailureCodes.parse(text);
}

}  // namespace dnsh
