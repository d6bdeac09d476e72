#include "acme/error_metrics.hpp"

#include <string_view>

#include "core/metric_registry.hpp"

namespace dnsh {

std::string acmeErrorTypeLabel(const acme::Problem& problem) {
    if (problem.status == 0) return "unreachable";
    // RFC 8555 §6.7 (and RFC 9773's alreadyReplaced): the only suffixes that become label values.
    // clang-format off
    static constexpr std::string_view known[]{
        "accountDoesNotExist", "alreadyRevoked", "badCSR", "badNonce", "badPublicKey",
        "badRevocationReason", "badSignatureAlgorithm", "caa", "compound", "connection", "dns",
        "externalAccountRequired", "incorrectResponse", "invalidContact", "malformed",
        "orderNotReady", "rateLimited", "rejectedIdentifier", "serverInternal", "tls",
        "unauthorized", "unsupportedContact", "unsupportedIdentifier", "userActionRequired",
        "alreadyReplaced"};
    // clang-format on
    constexpr std::string_view prefix = "urn:ietf:params:acme:error:";
    if (problem.type.rfind(prefix, 0) == 0) {
        const std::string_view suffix = std::string_view(problem.type).substr(prefix.size());
        for (auto name : known)
            if (suffix == name) return std::string(suffix);
    }
    return "other";
}

void countAcmeError(const acme::Problem& problem) {
    countEvent("dnsh_acme_errors_total", {{"type", acmeErrorTypeLabel(problem)}});
}

}  // namespace dnsh
