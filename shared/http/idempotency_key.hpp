#pragma once
// The Idempotency-Key request header of POST /domains (draft-ietf-httpapi-idempotency-key-
// header-06, README "API"): a client that lost the answer to its request (a timeout, lighttpd's
// 502, the 503 of a connection lost after the commit) sends the request again with the same key
// and gets the first answer's registration back, token included, instead of 409.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dnsh {

// The key's characters, after the sf-string's escapes are undone: at most this many. The draft
// leaves the key's format to the resource (§2.2), and §5 recommends a fixed one, published and
// checked before the request is processed: ours is 1-255 printable ASCII characters, room for a
// UUID or any random token (README "API"). Migration 030 holds stored keys to the same rule.
constexpr std::size_t kMaxIdempotencyKeyLength = 255;

// The field as lighttpd passes it (HTTP_IDEMPOTENCY_KEY). "": the request had none (lighttpd drops
// an empty field, and a CGI caller's empty variable is taken the same way): nullopt. Else the key:
// the field must be a Structured Field Item whose value is a String (§2.1; RFC 8941 §3.3.3,
// parsed as RFC 8941 §4.2 and §4.2.5 say, SP around it ignored), of 1 to
// kMaxIdempotencyKeyLength printable ASCII characters, with no parameters, and one field only
// (lighttpd joins repeated fields with ", ", and an Item followed by more is no Item, §4.2).
// Anything else: Error(BadRequest), whose message never quotes the field.
std::optional<std::string> parseIdempotencyKey(std::string_view field);

}  // namespace dnsh
