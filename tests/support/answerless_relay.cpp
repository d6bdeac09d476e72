#include "support/answerless_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dnsh::test {

namespace {

sockaddr_in ipv4(const std::string& host, std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
        throw std::runtime_error("not an IPv4 address: " + host);
    return address;
}

int udpSocket() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    return fd;
}

}  // namespace

AnswerlessRelay::AnswerlessRelay(const DnsServer& target) {
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe failed");
    wakeRead_ = pipeFds[0];
    wakeWrite_ = pipeFds[1];
    try {
        listening_ = udpSocket();
        sockaddr_in here = ipv4("127.0.0.1", 0);
        socklen_t length = sizeof here;
        if (::bind(listening_, reinterpret_cast<const sockaddr*>(&here), sizeof here) != 0 ||
            ::getsockname(listening_, reinterpret_cast<sockaddr*>(&here), &length) != 0)
            throw std::runtime_error("cannot bind the relay: " + std::string(std::strerror(errno)));
        port_ = ntohs(here.sin_port);
        upstream_ = udpSocket();
        const sockaddr_in there = ipv4(target.host, target.port);
        if (::connect(upstream_, reinterpret_cast<const sockaddr*>(&there), sizeof there) != 0)
            throw std::runtime_error("cannot reach " + target.host + ": " + std::strerror(errno));
    } catch (...) {
        for (const int fd : {listening_, upstream_, wakeRead_, wakeWrite_})
            if (fd >= 0) ::close(fd);
        throw;
    }
    thread_ = std::thread([this] { serve(); });
}

AnswerlessRelay::~AnswerlessRelay() {
    stopping_ = true;
    const char byte = 0;
    [[maybe_unused]] const auto written = ::write(wakeWrite_, &byte, 1);
    thread_.join();
    for (const int fd : {listening_, upstream_, wakeRead_, wakeWrite_}) ::close(fd);
}

void AnswerlessRelay::serve() {
    char datagram[65536];
    while (!stopping_) {
        pollfd fds[]{{wakeRead_, POLLIN, 0}, {listening_, POLLIN, 0}, {upstream_, POLLIN, 0}};
        if (::poll(fds, 3, 1000) <= 0) continue;
        if (fds[0].revents != 0) break;
        if (fds[1].revents & POLLIN) {
            const ssize_t got = ::recv(listening_, datagram, sizeof datagram, 0);
            if (got > 0 && ::send(upstream_, datagram, static_cast<size_t>(got), 0) == got)
                ++forwarded_;
        }
        if (fds[2].revents & (POLLIN | POLLERR)) {
            if (::recv(upstream_, datagram, sizeof datagram, 0) > 0) ++dropped_;
        }
    }
}

}  // namespace dnsh::test
