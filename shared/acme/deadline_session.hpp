#pragma once
// An HTTP or HTTPS session whose exchanges each have one deadline for all of it: the host name's
// lookup, the TCP connect and TLS handshake that Poco runs inside sendRequest when the connection
// is new, sending the request, and reading the answer. Poco bounds each wait alone: a peer that
// sends one byte of its handshake per wait would hold the caller for as long as it likes, and
// its host name lookup has no bound but resolv.conf's. Used for the CA (acme/transport.cpp, over
// a kept-alive connection) and for each webhook attempt (events/webhook_delivery.cpp, over http
// or https).
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <chrono>
#include <optional>

#include "acme/socket_deadline.hpp"

namespace dnsh {

// `Session`: Poco::Net::HTTPClientSession or Poco::Net::HTTPSClientSession (the two made in
// deadline_session.cpp), with their constructors.
template <class Session>
class DeadlineSession : public Session {
public:
    using Session::Session;

    // From here until endExchange(), the connection (the one open now, or the one sendRequest
    // opens) is shut down at `deadline`: whatever waits on it then fails.
    void beginExchange(std::chrono::steady_clock::time_point deadline);
    // Whether the exchange's deadline shut its connection down; the connection is never shut
    // down by it afterwards. Idempotent.
    bool endExchange();

    // Whether the exchange begun last has tried to write any of its request. A failure before
    // that (the name's lookup, the connect, the TLS handshake, the certificate check) sent
    // nothing to the peer.
    bool requestWritten() const { return requestWritten_; }

    // The base's, with the host name looked up first within the exchange's deadline when a new
    // connection is due (acme/host_lookup.hpp): Poco's own lookup has no time limit. The session
    // then connects to that address; the Host header and the TLS server name and certificate
    // check stay the host name's.
    std::ostream& sendRequest(Poco::Net::HTTPRequest& request) override;

protected:
    // The base's connect, the exchange's deadline armed on the connected socket at once. Over
    // TLS the handshake is held back (a lazy handshake) until then, then run and checked as
    // Poco does.
    void connect(const Poco::Net::SocketAddress& address) override;

    // The base's, every byte of the request and its body going through it; noted first, since a
    // write that fails may have sent part of its bytes.
    int write(const char* buffer, std::streamsize length) override;

private:
    void armDeadline();
    void disarmDeadline();

    std::string hostName_;  // the name the session was made for; its host may be an address
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::optional<SocketDeadline> socketDeadline_;
    bool expired_ = false;
    bool requestWritten_ = false;
};

using HttpDeadlineSession = DeadlineSession<Poco::Net::HTTPClientSession>;
using HttpsDeadlineSession = DeadlineSession<Poco::Net::HTTPSClientSession>;

extern template class DeadlineSession<Poco::Net::HTTPClientSession>;
extern template class DeadlineSession<Poco::Net::HTTPSClientSession>;

// An exchange's deadline for a scope: end() says whether it cut the connection.
template <class Session>
class ExchangeDeadline {
public:
    ExchangeDeadline(DeadlineSession<Session>& session,
                     std::chrono::steady_clock::time_point deadline)
        : session_(session) {
        session_.beginExchange(deadline);
    }
    ~ExchangeDeadline() { session_.endExchange(); }
    ExchangeDeadline(const ExchangeDeadline&) = delete;
    ExchangeDeadline& operator=(const ExchangeDeadline&) = delete;

    bool end() { return session_.endExchange(); }

private:
    DeadlineSession<Session>& session_;
};

}  // namespace dnsh
