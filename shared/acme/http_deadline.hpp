#pragma once
// One deadline for a whole HTTP exchange with Poco (the CA's requests, acme/transport.cpp; a
// webhook attempt, events/webhook_delivery.cpp): before each wait, the session's timeouts are
// set to what is left of it.
#include <Poco/Net/HTTPClientSession.h>

#include <chrono>

namespace dnsh {

// Gives the next wait (connecting, the TLS handshake, sending, one read) what is left until
// `deadline`; Poco::TimeoutException when nothing is. Poco 1.11's TLS socket waits twice for a
// read or write that has to wait: once in SSL_read/SSL_write (SO_RCVTIMEO/SO_SNDTIMEO), then
// again in poll() before giving up (SecureSocketImpl::mustRetry); over TLS (`tls`) each wait is
// given half (issue 23: a 30 s timeout held handlers and workers 60 s).
void limitWaits(Poco::Net::HTTPClientSession& session, bool tls,
                std::chrono::steady_clock::time_point deadline);

}  // namespace dnsh
