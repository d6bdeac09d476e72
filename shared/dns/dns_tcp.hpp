#pragma once
// One DNS question over TCP (RFC 1035 §4.2.2, RFC 7766 §8: each message after its two-byte
// length) that ends by one absolute time: connecting, sending and reading the whole answer all
// count against it. ldns's own TCP reader waits its timeout for each recv instead, so a server
// that announces 65535 bytes and sends one every few seconds held the caller for hours; here it
// is cut off at `end`. Plain sockets, no ldns: the caller encodes the question and parses the
// answer.
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <string_view>

namespace dnsh {

struct TcpAnswer {
    std::string wire;   // the answer's bytes (without the length), when `error` is empty
    std::string error;  // what stopped it: "timed out ...", "connect: ...", "closed ..."
    bool ok() const { return error.empty(); }
};

// Connects to `to` (non-blocking), sends `query` (wire form, at most 65535 bytes) with its
// length, and reads the answer's length and then that many bytes, all by `end`. The socket is
// closed on every path.
TcpAnswer askOverTcp(const sockaddr_storage& to, socklen_t toLength, std::string_view query,
                     std::chrono::steady_clock::time_point end);

}  // namespace dnsh
