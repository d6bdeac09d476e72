#include "acme/jws.hpp"

#include <Poco/JSON/Object.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#include <memory>
#include <sstream>
#include <stdexcept>

#include "crypto/hmac.hpp"
#include "crypto/keys.hpp"

namespace dnsh::acme {

namespace {

struct BnDeleter {
    void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Bignum = std::unique_ptr<BIGNUM, BnDeleter>;

std::string coordinate(EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
        throw std::runtime_error("account key is not an EC P-256 key");
    Bignum value(raw);
    std::string bytes(32, '\0');
    BN_bn2binpad(value.get(), reinterpret_cast<unsigned char*>(bytes.data()), 32);
    return base64UrlEncode(bytes);
}

std::map<std::string, std::string> publicJwkMembers(EVP_PKEY* key) {
    return {{"crv", "P-256"},
            {"kty", "EC"},
            {"x", coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X)},
            {"y", coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y)}};
}

// Members are simple strings, so the canonical form needs no general JSON writer.
std::string canonicalJson(const std::map<std::string, std::string>& members) {
    std::string json = "{";
    for (const auto& [name, value] : members) {
        if (json.size() > 1) json += ',';
        json += '"' + name + "\":\"" + value + '"';
    }
    return json + "}";
}

}  // namespace

std::string publicJwkJson(EVP_PKEY* accountKey) {
    return canonicalJson(publicJwkMembers(accountKey));
}

std::string jwkThumbprint(const std::map<std::string, std::string>& requiredMembers) {
    return base64UrlEncode(sha256(canonicalJson(requiredMembers)));
}

std::string jwkThumbprint(EVP_PKEY* accountKey) {
    return jwkThumbprint(publicJwkMembers(accountKey));
}

std::string keyAuthorization(const std::string& token, const std::string& thumbprint) {
    return token + "." + thumbprint;
}

std::string dns01TxtValue(const std::string& keyAuthorization) {
    return base64UrlEncode(sha256(keyAuthorization));
}

std::string signEs256(EVP_PKEY* key, const std::string& signingInput) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
    std::size_t size = 0;
    if (EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(context.get(), nullptr, &size,
                       reinterpret_cast<const unsigned char*>(signingInput.data()),
                       signingInput.size()) != 1)
        throw std::runtime_error("ES256 signing failed: " + opensslError());
    std::vector<unsigned char> der(size);
    if (EVP_DigestSign(context.get(), der.data(), &size,
                       reinterpret_cast<const unsigned char*>(signingInput.data()),
                       signingInput.size()) != 1)
        throw std::runtime_error("ES256 signing failed: " + opensslError());
    const unsigned char* cursor = der.data();
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> signature(
        d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(size)), &ECDSA_SIG_free);
    if (!signature) throw std::runtime_error("ES256 signature not DER: " + opensslError());
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(signature.get()), reinterpret_cast<unsigned char*>(raw.data()),
                 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(signature.get()),
                 reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    return raw;
}

namespace {

// RFC 7515 §7.2.2: the flattened JSON serialization, members in this order.
std::string flattenedJws(const std::string& encodedHeader, const std::string& encodedPayload,
                         const std::string& encodedSignature) {
    Poco::JSON::Object jws(Poco::JSON_PRESERVE_KEY_ORDER);
    jws.set("protected", encodedHeader);
    jws.set("payload", encodedPayload);
    jws.set("signature", encodedSignature);
    std::ostringstream text;
    jws.stringify(text);
    return text.str();
}

}  // namespace

std::string signJws(EVP_PKEY* accountKey, const JwsHeader& header, const std::string& payload) {
    // RFC 8555 §6.2: alg, nonce, url, and exactly one of jwk / kid.
    std::string protectedHeader = "{\"alg\":\"ES256\",";
    if (header.kid) {
        Poco::JSON::Object kid;
        kid.set("kid", *header.kid);
        std::ostringstream text;
        kid.stringify(text);
        protectedHeader += text.str().substr(1, text.str().size() - 2) + ",";
    } else {
        protectedHeader += "\"jwk\":" + publicJwkJson(accountKey) + ",";
    }
    Poco::JSON::Object rest;
    rest.set("nonce", header.nonce);
    rest.set("url", header.url);
    std::ostringstream restText;
    rest.stringify(restText);
    protectedHeader += restText.str().substr(1);

    const std::string encodedHeader = base64UrlEncode(protectedHeader);
    const std::string encodedPayload = base64UrlEncode(payload);
    const std::string signature = signEs256(accountKey, encodedHeader + "." + encodedPayload);
    return flattenedJws(encodedHeader, encodedPayload, base64UrlEncode(signature));
}

std::string externalAccountBinding(EVP_PKEY* accountKey, const std::string& keyId,
                                   const std::string& hmacKey, const std::string& newAccountUrl) {
    Poco::JSON::Object header(Poco::JSON_PRESERVE_KEY_ORDER);
    header.set("alg", "HS256");  // RFC 8555 §7.3.4: a MAC algorithm, no nonce
    header.set("kid", keyId);
    header.set("url", newAccountUrl);
    std::ostringstream headerText;
    header.stringify(headerText);
    const std::string encodedHeader = base64UrlEncode(headerText.str());
    const std::string encodedPayload = base64UrlEncode(publicJwkJson(accountKey));
    const std::vector<unsigned char> mac =
        hmacSha256(hmacKey, encodedHeader + "." + encodedPayload);
    return flattenedJws(encodedHeader, encodedPayload, base64UrlEncode(mac));
}

}  // namespace dnsh::acme
