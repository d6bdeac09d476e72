#include "support/fake_nameservers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

// Last: ldns headers define macros that break later C++ standard headers.
#include <ldns/ldns.h>

namespace dnsh::test {

namespace {

constexpr std::uint16_t kDnsPort = 53;

int boundSocket(const std::string& address, int type) {
    const int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(kDnsPort);
    if (::inet_pton(AF_INET, address.c_str(), &where.sin_addr) != 1) {
        ::close(fd);
        throw std::runtime_error("not an IPv4 address: " + address);
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0 ||
        (type == SOCK_STREAM && ::listen(fd, 64) != 0)) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("cannot bind " + address + ":53 (" + why + ")");
    }
    return fd;
}

std::string withoutDot(std::string name) {
    if (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

}  // namespace

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        const std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

FakeNameservers::FakeNameservers(const std::vector<std::string>& addresses, Answer answer,
                                 Transport transport)
    : answer_(std::move(answer)), transport_(transport) {
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe failed");
    wakeRead_ = pipeFds[0];
    wakeWrite_ = pipeFds[1];
    try {
        for (const auto& address : addresses) {
            sockets_.push_back(
                {boundSocket(address, SOCK_DGRAM), address, Socket::Kind::Udp, "", {}, {}});
            sockets_.push_back({boundSocket(address, SOCK_STREAM), address,
                                Socket::Kind::TcpListener, "", {}, {}});
        }
    } catch (...) {
        for (const auto& socket : sockets_) ::close(socket.fd);
        ::close(wakeRead_);
        ::close(wakeWrite_);
        throw;
    }
    thread_ = std::thread([this] { serve(); });
}

FakeNameservers::~FakeNameservers() {
    stopping_ = true;
    const char byte = 0;
    [[maybe_unused]] const auto written = ::write(wakeWrite_, &byte, 1);
    thread_.join();
    for (const auto& socket : sockets_) ::close(socket.fd);
    ::close(wakeRead_);
    ::close(wakeWrite_);
}

int FakeNameservers::queries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int total = 0;
    for (const auto& [address, seen] : queries_) total += seen;
    return total;
}

std::set<std::string> FakeNameservers::addressesQueried() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> addresses;
    for (const auto& [address, seen] : queries_) addresses.insert(address);
    return addresses;
}

void FakeNameservers::count(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++queries_[address];
}

std::string FakeNameservers::respond(const std::string& query, bool overUdp) const {
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, reinterpret_cast<const uint8_t*>(query.data()), query.size()) !=
            LDNS_STATUS_OK ||
        parsed == nullptr)
        return "";
    std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)> request(parsed, ldns_pkt_free);
    const ldns_rr_list* questions = ldns_pkt_question(request.get());
    if (questions == nullptr || ldns_rr_list_rr_count(questions) != 1) return "";
    const ldns_rr* question = ldns_rr_list_rr(questions, 0);
    char* ownerText = ldns_rdf2str(ldns_rr_owner(question));
    char* typeText = ldns_rr_type2str(ldns_rr_get_type(question));
    const std::string qname = withoutDot(ownerText ? ownerText : "");
    const std::string qtype = typeText ? typeText : "";
    free(ownerText);
    free(typeText);

    std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)> reply(ldns_pkt_new(), ldns_pkt_free);
    ldns_pkt_set_id(reply.get(), ldns_pkt_id(request.get()));
    ldns_pkt_set_qr(reply.get(), true);
    ldns_pkt_set_aa(reply.get(), true);
    ldns_pkt_set_opcode(reply.get(), LDNS_PACKET_QUERY);
    ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_NOERROR);
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    // Too big for UDP (say so, and leave the records out or cut the datagram): the client asks
    // again over TCP.
    const bool truncated = overUdp && transport_ != Transport::Same && qtype == "TXT";
    const bool cut = truncated && transport_ == Transport::CutShort;
    ldns_pkt_set_tc(reply.get(), truncated);
    std::size_t lastRecordSize = 0;
    for (const auto& text :
         truncated && !cut ? std::vector<std::string>{} : answer_(qname, qtype)) {
        ldns_rr* record = nullptr;
        if (ldns_rr_new_frm_str(&record, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
            continue;
        lastRecordSize = ldns_rr_uncompressed_size(record);
        ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, record);
    }
    // Without name compression: ldns would otherwise point an owner equal to the question's
    // name (ignoring case) at the question, and the owner's own case would be lost.
    std::unique_ptr<ldns_buffer, void (*)(ldns_buffer*)> wire(ldns_buffer_new(LDNS_MAX_PACKETLEN),
                                                             ldns_buffer_free);
    if (ldns_pkt2buffer_wire_compress(wire.get(), reply.get(), nullptr) != LDNS_STATUS_OK)
        return "";
    std::size_t size = ldns_buffer_position(wire.get());
    // Half of the last record left out (uncompressed, it is the datagram's last bytes).
    if (cut) size -= (lastRecordSize + 1) / 2;
    return std::string(reinterpret_cast<const char*>(ldns_buffer_begin(wire.get())), size);
}

void FakeNameservers::serve() {
    while (!stopping_) {
        const int wait = trickle(1000);
        std::vector<pollfd> fds{{wakeRead_, POLLIN, 0}};
        for (const auto& socket : sockets_) fds.push_back({socket.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), wait) <= 0) continue;
        if (fds[0].revents != 0) break;
        const std::size_t known = sockets_.size();
        for (std::size_t i = 0; i < known; ++i) {
            if ((fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
            Socket& socket = sockets_[i];
            if (socket.kind == Socket::Kind::Udp) {
                char buffer[4096];
                sockaddr_in from{};
                socklen_t fromLength = sizeof from;
                const ssize_t got = ::recvfrom(socket.fd, buffer, sizeof buffer, 0,
                                               reinterpret_cast<sockaddr*>(&from), &fromLength);
                if (got <= 0) continue;
                count(socket.address);
                if (!answer_) continue;
                const std::string reply =
                    respond(std::string(buffer, static_cast<size_t>(got)), true);
                if (!reply.empty())
                    ::sendto(socket.fd, reply.data(), reply.size(), 0,
                             reinterpret_cast<const sockaddr*>(&from), fromLength);
            } else if (socket.kind == Socket::Kind::TcpListener) {
                const int connection = ::accept4(socket.fd, nullptr, nullptr, SOCK_NONBLOCK |
                                                 SOCK_CLOEXEC);
                if (connection < 0) continue;
                count(socket.address);
                // Held open (silent) or answered, until the peer closes it or the test ends.
                sockets_.push_back(
                    {connection, socket.address, Socket::Kind::TcpConnection, "", {}, {}});
            } else {
                char buffer[4096];
                const ssize_t got = ::read(socket.fd, buffer, sizeof buffer);
                if (got <= 0) {
                    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                    ::close(socket.fd);
                    socket.fd = -1;
                    continue;
                }
                if (!answer_) continue;
                socket.pending.append(buffer, static_cast<size_t>(got));
                while (socket.pending.size() >= 2) {
                    const std::size_t length =
                        (static_cast<unsigned char>(socket.pending[0]) << 8) |
                        static_cast<unsigned char>(socket.pending[1]);
                    if (socket.pending.size() < 2 + length) break;
                    if (transport_ == Transport::Trickled) {
                        // An answer of 65535 bytes announced, to come a byte at a time.
                        socket.pending.clear();
                        if (socket.nextByte) break;
                        const auto now = std::chrono::steady_clock::now();
                        socket.nextByte = now + kTrickleInterval;
                        socket.trickleEnd = now + kTrickleFor;
                        [[maybe_unused]] const auto sent =
                            ::send(socket.fd, "\xff\xff", 2, MSG_NOSIGNAL);
                        break;
                    }
                    const std::string reply = respond(socket.pending.substr(2, length), false);
                    socket.pending.erase(0, 2 + length);
                    if (reply.empty()) continue;
                    std::string framed;
                    framed.push_back(static_cast<char>(reply.size() >> 8));
                    framed.push_back(static_cast<char>(reply.size() & 0xff));
                    framed += reply;
                    [[maybe_unused]] const auto sent = ::write(socket.fd, framed.data(),
                                                               framed.size());
                }
            }
        }
        // Connections the peers closed.
        std::erase_if(sockets_, [](const Socket& socket) { return socket.fd < 0; });
    }
}

int FakeNameservers::trickle(int longest) {
    const auto now = std::chrono::steady_clock::now();
    auto wait = std::chrono::milliseconds(longest);
    for (auto& socket : sockets_) {
        if (!socket.nextByte || socket.fd < 0) continue;
        if (now >= *socket.trickleEnd) {
            ::close(socket.fd);  // the client never gave up: the server does
            socket.fd = -1;
            continue;
        }
        if (now >= *socket.nextByte) {
            if (::send(socket.fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
                ::close(socket.fd);  // the client closed it
                socket.fd = -1;
                continue;
            }
            socket.nextByte = now + kTrickleInterval;
        }
        wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(*socket.nextByte - now));
    }
    std::erase_if(sockets_, [](const Socket& socket) { return socket.fd < 0; });
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(wait.count(), 0));
}

}  // namespace dnsh::test
