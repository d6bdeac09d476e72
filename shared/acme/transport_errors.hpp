#pragma once
// The CA's failures turned into AcmeError, shared by the parts of Transport (transport.cpp: the
// exchange; transport_post.cpp: the nonce pool and signed POSTs). Not for use outside them.
#include <Poco/URI.h>

#include <chrono>
#include <optional>
#include <string>

#include "acme/problem.hpp"
#include "acme/transport.hpp"

namespace dnsh::acme::transport_errors {

// An error the CA caused (an error status, an answer the transport cannot use, no answer),
// counted in dnsh_acme_errors_total.
AcmeError caError(Problem problem, std::optional<std::chrono::seconds> retryAfter = std::nullopt,
                  bool outcomeUnknown = false);

// A request that failed, as its error's detail says it (both parts made printable and cut).
std::string failureDetail(const std::string& reason, const std::string& url,
                          const std::string& note = "");

// A URL to ask the CA at; one that does not parse is the CA's protocol error (502).
Poco::URI caUri(const std::string& url);

// An answer with an error status as the CA's error (RFC 7807 problem document when it is one).
AcmeError toError(const HttpReply& reply, const std::string& url);

}  // namespace dnsh::acme::transport_errors
