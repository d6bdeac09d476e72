#include "dns/dns_tcp.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;

struct OwnedFd {
    int fd;
    ~OwnedFd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string systemError(const char* what, int error) {
    return std::string(what) + ": " + std::strerror(error);
}

// Waits until `fd` is ready for `events` (or has an error, which the next call on it reports):
// "" then, else why not ("timed out" once `end` has passed).
std::string waitFor(int fd, short events, Clock::time_point end) {
    while (true) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0) return "timed out";
        pollfd ready{fd, events, 0};
        const int count =
            ::poll(&ready, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
        if (count > 0) return "";
        if (count < 0 && errno != EINTR) return systemError("poll", errno);
    }
}

// Reads exactly `size` bytes into `into` by `end`; "" or why not.
std::string readExactly(int fd, char* into, std::size_t size, Clock::time_point end,
                        const char* what) {
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(fd, into + got, size - got, 0);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        } else if (n == 0) {
            return "closed the connection after " + std::to_string(got) + " of " +
                   std::to_string(size) + " bytes of " + what;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const std::string why = waitFor(fd, POLLIN, end);
            if (!why.empty())
                return why + " after " + std::to_string(got) + " of " + std::to_string(size) +
                       " bytes of " + what;
        } else if (errno != EINTR) {
            return systemError("recv", errno);
        }
    }
    return "";
}

}  // namespace

TcpAnswer askOverTcp(const sockaddr_storage& to, socklen_t toLength, std::string_view query,
                     Clock::time_point end) {
    if (query.size() > 0xffff) return {"", "question longer than 65535 bytes"};
    const OwnedFd socket{::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (socket.fd < 0) return {"", systemError("socket", errno)};

    if (::connect(socket.fd, reinterpret_cast<const sockaddr*>(&to), toLength) != 0) {
        if (errno != EINPROGRESS) return {"", systemError("connect", errno)};
        if (std::string why = waitFor(socket.fd, POLLOUT, end); !why.empty())
            return {"", why + " connecting"};
        int error = 0;
        socklen_t errorLength = sizeof error;
        if (::getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &errorLength) != 0)
            error = errno;
        if (error != 0) return {"", systemError("connect", error)};
    }

    std::string framed;
    framed.push_back(static_cast<char>(query.size() >> 8));
    framed.push_back(static_cast<char>(query.size() & 0xff));
    framed.append(query);
    for (std::size_t sent = 0; sent < framed.size();) {
        // MSG_NOSIGNAL: a server that closed the connection is an error, not SIGPIPE.
        const ssize_t n =
            ::send(socket.fd, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (std::string why = waitFor(socket.fd, POLLOUT, end); !why.empty())
                return {"", why + " sending the question"};
        } else if (errno != EINTR) {
            return {"", systemError("send", errno)};
        }
    }

    unsigned char length[2];
    std::string error =
        readExactly(socket.fd, reinterpret_cast<char*>(length), 2, end, "the answer's length");
    if (!error.empty()) return {"", error};
    // At most 65535 bytes: the two bytes the server sent, never more.
    std::string answer(static_cast<std::size_t>(length[0] << 8 | length[1]), '\0');
    error = readExactly(socket.fd, answer.data(), answer.size(), end, "the answer");
    if (!error.empty()) return {"", error};
    return {std::move(answer), ""};
}

}  // namespace dnsh
