#pragma once
// One keep-alive HTTPS connection to the CA whose exchanges each have one deadline for all of
// it: the TCP connect and TLS handshake that Poco runs inside sendRequest when the connection is
// new, sending the request, and reading the answer. Poco bounds each wait alone: a peer that
// sends one byte of its handshake per wait would hold the caller for as long as it likes.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <chrono>
#include <optional>
#include <string>

#include "acme/socket_deadline.hpp"

namespace dnsh::acme {

class CaSession : public Poco::Net::HTTPSClientSession {
public:
    CaSession(const std::string& host, unsigned short port, Poco::Net::Context::Ptr context);

    // From here until endExchange(), the connection (the one open now, or the one sendRequest
    // opens) is shut down at `deadline`: whatever waits on it then fails.
    void beginExchange(std::chrono::steady_clock::time_point deadline);
    // Whether the exchange's deadline shut its connection down; the connection is never shut
    // down by it afterwards. Idempotent.
    bool endExchange();

protected:
    // HTTPSClientSession's connect with the handshake held back (a lazy handshake) until the
    // exchange's deadline is armed on the connected socket, then run and checked as Poco does.
    void connect(const Poco::Net::SocketAddress& address) override;

private:
    void armDeadline();
    void disarmDeadline();

    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::optional<SocketDeadline> socketDeadline_;
    bool expired_ = false;
};

// An exchange's deadline for a scope: end() says whether it cut the connection.
class ExchangeDeadline {
public:
    ExchangeDeadline(CaSession& session, std::chrono::steady_clock::time_point deadline)
        : session_(session) {
        session_.beginExchange(deadline);
    }
    ~ExchangeDeadline() { session_.endExchange(); }
    ExchangeDeadline(const ExchangeDeadline&) = delete;
    ExchangeDeadline& operator=(const ExchangeDeadline&) = delete;

    bool end() { return session_.endExchange(); }

private:
    CaSession& session_;
};

}  // namespace dnsh::acme
