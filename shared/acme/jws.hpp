#pragma once
// RFC 7515 JWS as ACME uses it (RFC 8555 §6.2): flattened JSON, ES256 account keys, "jwk" in the
// protected header for newAccount, "kid" afterwards. Pure functions of their inputs.
#include <openssl/evp.h>

#include <map>
#include <optional>
#include <string>

namespace dnsh::acme {

// The public JWK of an EC P-256 key (RFC 7518 §6.2.1), members in lexicographic order.
std::string publicJwkJson(EVP_PKEY* accountKey);

// RFC 7638 §3: SHA-256 over the required members, sorted, no whitespace; base64url.
// `requiredMembers` e.g. {"crv","P-256"},{"kty","EC"},{"x",...},{"y",...}.
std::string jwkThumbprint(const std::map<std::string, std::string>& requiredMembers);
std::string jwkThumbprint(EVP_PKEY* accountKey);

// RFC 8555 §8.1: token "." thumbprint.
std::string keyAuthorization(const std::string& token, const std::string& thumbprint);

// RFC 8555 §8.4: the TXT record value, base64url(SHA-256(key authorization)).
std::string dns01TxtValue(const std::string& keyAuthorization);

struct JwsHeader {
    std::string url;                 // RFC 8555 §6.4
    std::string nonce;               // RFC 8555 §6.5
    std::optional<std::string> kid;  // account URL; without it the JWK is embedded
};

// Flattened JWS JSON {"protected","payload","signature"}. An empty payload is POST-as-GET
// (RFC 8555 §6.3).
std::string signJws(EVP_PKEY* accountKey, const JwsHeader& header, const std::string& payload);

// RFC 8555 §7.3.4: the externalAccountBinding member of newAccount, a flattened JWS with
// {"alg":"HS256","kid":<the CA's key id>,"url":<newAccount URL>} over the account's public JWK,
// MACed with the CA's HMAC key (raw bytes).
std::string externalAccountBinding(EVP_PKEY* accountKey, const std::string& keyId,
                                   const std::string& hmacKey, const std::string& newAccountUrl);

// ES256 signature as JWS wants it: R || S, 32 bytes each (RFC 7518 §3.4), not DER.
std::string signEs256(EVP_PKEY* key, const std::string& signingInput);

}  // namespace dnsh::acme
