#include "support/pg_proxy.hpp"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

constexpr const char* kSocketName = "/.s.PGSQL.5432";

// The test stack's connection options, with `host` (and `port`, when not 0) replaced.
std::string connectionString(const std::string& host, int port, std::string* serverHost) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(databaseUrl().c_str(), &error), &PQconninfoFree);
    if (!options) throw std::runtime_error("DATABASE_URL does not parse");
    std::string result;
    for (PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr) continue;
        std::string value = option->val;
        if (std::string(option->keyword) == "host") {
            if (serverHost != nullptr) *serverHost = value;
            value = host;
        }
        if (std::string(option->keyword) == "port" && port != 0) continue;
        result += std::string(option->keyword) + "='" + value + "' ";
    }
    if (port != 0) result += "port='" + std::to_string(port) + "' ";
    return result;
}

sockaddr_un unixAddress(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) throw std::runtime_error("socket path too long");
    std::strcpy(address.sun_path, path.c_str());
    return address;
}

bool sendAll(int socket, const char* data, ssize_t size) {
    while (size > 0) {
        const ssize_t sent = send(socket, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
        if (sent <= 0) return false;
        data += sent;
        size -= sent;
    }
    return true;
}

}  // namespace

PgProxy::PgProxy(std::string dropReplyContaining, Listen listen)
    : trigger_(std::move(dropReplyContaining)) {
    char pattern[] = "/tmp/dnsh-pgproxy.XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    std::string serverHost;
    connectionString(directory_, 0, &serverHost);
    if (serverHost.empty() || serverHost.front() != '/')
        throw std::runtime_error("PgProxy needs DATABASE_URL with a unix socket directory");
    serverSocket_ = serverHost + kSocketName;

    bool bound = false;
    if (listen == Listen::UnixSocket) {
        listener_ = socket(AF_UNIX, SOCK_STREAM, 0);
        const sockaddr_un address = unixAddress(directory_ + kSocketName);
        bound = bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    } else {
        listener_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks a free one
        socklen_t size = sizeof(address);
        bound = bind(listener_, reinterpret_cast<const sockaddr*>(&address), size) == 0 &&
                getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) == 0;
        port_ = ntohs(address.sin_port);
    }
    if (!bound || ::listen(listener_, 16) != 0) throw std::runtime_error("PgProxy cannot listen");
    acceptor_ = std::thread([this] { acceptLoop(); });
}

PgProxy::~PgProxy() {
    stopping_ = true;
    acceptor_.join();
    for (auto& relay : relays_) relay.join();
    close(listener_);
    // Not the throwing overload: an exception out of a destructor is std::terminate.
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
}

std::string PgProxy::databaseUrl() const {
    return port_ != 0 ? connectionString("127.0.0.1", port_, nullptr)
                      : connectionString(directory_, 0, nullptr);
}

void PgProxy::acceptLoop() {
    while (!stopping_) {
        pollfd incoming{listener_, POLLIN, 0};
        if (poll(&incoming, 1, 50) <= 0) continue;
        const int client = accept(listener_, nullptr, nullptr);
        if (client >= 0) relays_.emplace_back([this, client] { relay(client); });
    }
}

void PgProxy::relay(int client) {
    const int server = socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un address = unixAddress(serverSocket_);
    if (connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        close(client);
        close(server);
        return;
    }
    char buffer[65536];
    while (!stopping_) {
        pollfd ends[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (poll(ends, 2, 50) <= 0) continue;
        if (ends[0].revents != 0) {
            const ssize_t got = recv(client, buffer, sizeof(buffer), 0);
            if (got <= 0 || !sendAll(server, buffer, got)) break;
        }
        if (ends[1].revents != 0) {
            const ssize_t got = recv(server, buffer, sizeof(buffer), 0);
            if (got <= 0) break;
            // Only the first such reply: the client's own retry must get through.
            int none = 0;
            if (!trigger_.empty() &&
                std::string_view(buffer, static_cast<std::size_t>(got)).find(trigger_) !=
                    std::string_view::npos &&
                dropped_.compare_exchange_strong(none, 1))
                break;
            if (!sendAll(client, buffer, got)) break;
        }
    }
    close(client);
    close(server);
}

}  // namespace dnsh::test
