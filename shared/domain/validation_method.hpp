#pragma once
// How the domain's latest order proved control to the CA, as the domain view's
// validation_method shows it (stored in domains.validation_method):
// Dns01: the customer publishes a TXT value at _acme-challenge for each order (RFC 8555 §8.4).
// Cname: the same values, published by the service through the delegation CNAME ("Zero-touch").
// DnsPersist01: the customer's one record at _validation-persist, set once
//   (draft-ietf-acme-dns-persist-00 §4); nothing to publish per order.
#include <optional>
#include <string_view>

#include "core/enum_names.hpp"

namespace dnsh {

enum class ValidationMethod { Dns01, Cname, DnsPersist01 };

inline constexpr EnumNames<ValidationMethod, 3> kValidationMethodNames{{{
    {ValidationMethod::Dns01, "dns-01"},
    {ValidationMethod::Cname, "cname"},
    {ValidationMethod::DnsPersist01, "dns-persist-01"},
}}};

constexpr std::string_view toString(ValidationMethod method) {
    return kValidationMethodNames.toString(method);
}

constexpr std::optional<ValidationMethod> parseValidationMethod(std::string_view text) {
    return kValidationMethodNames.parse(text);
}

}  // namespace dnsh
