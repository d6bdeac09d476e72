#include "acme/ca_session.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketImpl.h>

namespace dnsh::acme {

CaSession::CaSession(const std::string& host, unsigned short port,
                     Poco::Net::Context::Ptr context)
    : Poco::Net::HTTPSClientSession(host, port, context) {}

void CaSession::beginExchange(std::chrono::steady_clock::time_point deadline) {
    disarmDeadline();
    deadline_ = deadline;
    expired_ = false;
    if (connected()) armDeadline();  // a kept-alive connection: the request and its answer
}

bool CaSession::endExchange() {
    disarmDeadline();
    deadline_.reset();
    return expired_;
}

void CaSession::armDeadline() {
    disarmDeadline();
    if (deadline_) socketDeadline_.emplace(socket().impl()->sockfd(), *deadline_);
}

void CaSession::disarmDeadline() {
    if (socketDeadline_ && socketDeadline_->expired()) expired_ = true;
    socketDeadline_.reset();
}

void CaSession::connect(const Poco::Net::SocketAddress& address) {
    disarmDeadline();  // the connection this one replaces
    if (deadline_ && std::chrono::steady_clock::now() >= *deadline_)
        throw Poco::TimeoutException("the time budget is spent");
    Poco::Net::SecureStreamSocket secure(socket());
    // The TCP connect alone: one wait, bounded by the session's connection timeout. (A lazy
    // handshake takes no TLS session to resume: the transport's Context caches none.)
    secure.setLazyHandshake(true);
    Poco::Net::HTTPSClientSession::connect(address);
    armDeadline();
    // What Poco does when the handshake is not lazy (SecureSocketImpl::connectSSL): the
    // handshake, then the certificate checked against the host name (RFC 8555 §6.1: HTTPS).
    if (secure.completeHandshake() != 1)
        throw Poco::Net::SSLConnectionUnexpectedlyClosedException("during the TLS handshake");
    secure.verifyPeerCertificate();
}

}  // namespace dnsh::acme
