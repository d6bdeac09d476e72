#pragma once
// Bytes someone else chose (a customer's DNS answers, a CA's problem documents) made fit to
// store, show, send and log: printable and bounded, whatever they held.
#include <cstddef>
#include <string>
#include <string_view>

namespace dnsh {

// `bytes` as shown to people: printable ASCII as it is, a backslash doubled, every other byte
// (control bytes, DEL, anything from 0x80) as \DDD, RFC 1035 §5.1's presentation format (what
// dig shows). Longer than `maxBytes`: cut at an escape boundary and ended with "...", and
// `*truncated` set. Not idempotent (a backslash doubles each time): apply it once, where the
// bytes come in.
std::string shownText(std::string_view bytes, std::size_t maxBytes, bool* truncated = nullptr);

}  // namespace dnsh
