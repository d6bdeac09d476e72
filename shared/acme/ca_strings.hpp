#pragma once
// The shapes of the CA's strings the client acts on or stores: its URLs (requested, stored in
// acme_orders and acme_challenges, named in errors) and its challenge tokens (stored, put in
// key authorizations). An answer may be 1 MiB (transport.cpp); these keep each within a bound.
#include <cstddef>
#include <string>

namespace dnsh::acme {

// A URL the CA names: its directory's newNonce, newAccount, newOrder and renewalInfo, an
// order's, authorization's, finalize, certificate and challenge URLs and the Location of
// newOrder and newAccount. RFC 8555 §6.1 requires https; 2,048 bytes is far past
// any CA's (Pebble's and Let's Encrypt's are under 100) and what browsers and proxies take.
inline constexpr std::size_t kMaxCaUrlBytes = 2048;

// RFC 8555 §8.1: a token has "at least 128 bits of entropy" in base64url without padding, so at
// least 22 characters (Pebble's and Let's Encrypt's are 43: 32 bytes).
inline constexpr std::size_t kMinChallengeTokenBytes = 22;
inline constexpr std::size_t kMaxChallengeTokenBytes = 256;

// An https URL with a host, at most `maxBytes` of RFC 3986 §2's printable characters, that
// Poco::URI parses (the scheme compared as RFC 3986 §3.1 says: in any case).
bool isHttpsUrl(const std::string& url, std::size_t maxBytes);

// RFC 8555 §8.1: base64url (RFC 4648 §5) without '=' padding, of kMinChallengeTokenBytes to
// kMaxChallengeTokenBytes.
bool isChallengeToken(const std::string& token);

}  // namespace dnsh::acme
