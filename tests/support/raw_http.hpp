#pragma once
// Sends bytes exactly as given (no client-side cleaning of paths or bodies) and reads the reply:
// for hostile-input tests that a well-behaved HTTP client library would refuse to send.
#include <string>

#include "support/http_client.hpp"

namespace dnsh::test {

// One request with Content-Length (when body or contentType is set) and Connection: close.
HttpResult sendRaw(const std::string& baseUrl, const std::string& method, const std::string& path,
                   const std::string& contentType, const std::string& body);

// The request bytes exactly as given (request line, headers, body: the caller writes them all),
// for requests no client would send: no Content-Length, chunked bodies, oversized headers.
HttpResult sendRawRequest(const std::string& baseUrl, const std::string& request);

}  // namespace dnsh::test
