#pragma once
// Whether a text is one JSON object, checked by Poco's parser without building the tree: for
// stored JSON that is copied into an answer as it is (a domain's checks), where only its being
// well-formed matters. Building the Poco::JSON tree to throw it away was a quarter of the
// instructions of GET /domains/{id} for a domain with its checks (README "Benchmark").
#include <string>

namespace dnsh {

// True for exactly one JSON object (RFC 8259 §4), whitespace around it allowed; false for any
// other value, for text that is not JSON, and for a second value after the first.
bool isJsonObjectText(const std::string& text);

}  // namespace dnsh
