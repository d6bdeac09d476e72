#pragma once
// The ACME CAs the service orders from, in order of preference (README "Several CAs"): the file
// ACME_CAS_FILE names holds ACME_CAS (their names) and ACME_CA_<NAME>_* for each, and nothing
// else; without it, ACME_DIRECTORY and its companions (ACME_CA_BUNDLE, ACME_PROFILE,
// ACME_EAB_KID, ACME_EAB_HMAC_KEY, ACME_ORDER_BUDGET) are the one CA. With it, a companion set
// in the environment that the file's CAs would not honour is refused rather than ignored.
// Checked at start: a bad list stops the program with a message that names the variable and
// never quotes a secret.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/order_budget_spec.hpp"

namespace dnsh {

// RFC 8555 §7.3.4: the key a CA gave out of band to bind our account to an account of its own.
struct ExternalAccountKey {
    std::string keyId;    // ..._EAB_KID, as the CA gave it
    std::string hmacKey;  // ..._EAB_HMAC_KEY decoded (the CA gives it base64url); never logged
};

struct CaSettings {
    std::string name;          // "default" in the one-CA form; lower case in ACME_CAS
    std::string directoryUrl;  // ..._DIRECTORY; identifies the CA everywhere (account, `ca`)
    std::string caBundle;      // ..._CA_BUNDLE: PEM file to trust instead of the system's
    std::optional<ExternalAccountKey> externalAccount;
    // ..._PROFILE (draft-ietf-acme-profiles) for orders whose domain chose none; "": CA default.
    std::string profile;
    // ..._ORDER_BUDGET "<orders>/<duration>": new orders this CA takes from us, shared by every
    // process (issuance/order_budget.hpp); none: unlimited.
    std::optional<OrderBudgetSpec> orderBudget;
};

// Throws ConfigError naming the variable that is wrong.
std::vector<CaSettings> loadCaSettings(
    const std::function<std::optional<std::string>(const std::string&)>& lookup);

// "https://a/dir https://b/dir (EAB) (budget 300/3h)": the CAs in order, for a start log line;
// never a key.
std::string describeCas(const std::vector<CaSettings>& cas);

}  // namespace dnsh
