#pragma once
// Standard Webhooks signing (https://www.standardwebhooks.com/, "Signature scheme"): HMAC-SHA256
// with the secret's key bytes over "<webhook-id>.<webhook-timestamp>.<body>", base64, prefixed
// with the version "v1,".
#include <string>

namespace dnsh {

// `key`: the bytes decoded from "whsec_<base64>" (decodeWebhookSecret).
std::string webhookSignature(const std::string& key, const std::string& id, long long timestamp,
                             const std::string& body);

}  // namespace dnsh
