#pragma once
// A host name's address looked up within a deadline. getaddrinfo(3) has no timeout of its own:
// resolv.conf's `timeout` x `attempts` x its nameservers bound it (5 s x 2 x 3 = 30 s with the
// defaults), far past a CA request's or a webhook attempt's budget. The lookup runs on a thread
// of its own, which is left to finish alone when the deadline passes first.
#include <Poco/Net/IPAddress.h>

#include <chrono>
#include <string>

namespace dnsh {

// `host`'s address as Poco::Net::SocketAddress would pick it (IPv4 first when both are
// found); an address literal as it is. Throws Poco::TimeoutException at `deadline`, and what
// the lookup throws (Poco::Net::HostNotFoundException, ...) when it fails before.
Poco::Net::IPAddress lookUpHostBy(const std::string& host,
                                  std::chrono::steady_clock::time_point deadline);

}  // namespace dnsh
