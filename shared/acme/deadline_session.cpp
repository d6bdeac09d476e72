#include "acme/deadline_session.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketImpl.h>

#include <type_traits>

#include "acme/host_lookup.hpp"

namespace dnsh {

template <class Session>
void DeadlineSession<Session>::beginExchange(std::chrono::steady_clock::time_point deadline) {
    disarmDeadline();
    deadline_ = deadline;
    expired_ = false;
    requestWritten_ = false;
    if (this->connected()) armDeadline();  // a kept-alive connection: the request and its answer
}

template <class Session>
bool DeadlineSession<Session>::endExchange() {
    disarmDeadline();
    deadline_.reset();
    return expired_;
}

template <class Session>
void DeadlineSession<Session>::armDeadline() {
    disarmDeadline();
    if (deadline_) socketDeadline_.emplace(this->socket().impl()->sockfd(), *deadline_);
}

template <class Session>
void DeadlineSession<Session>::disarmDeadline() {
    if (socketDeadline_ && socketDeadline_->expired()) expired_ = true;
    socketDeadline_.reset();
}

template <class Session>
std::ostream& DeadlineSession<Session>::sendRequest(Poco::Net::HTTPRequest& request) {
    if (hostName_.empty()) hostName_ = this->getHost();
    if (!request.has(Poco::Net::HTTPRequest::HOST)) request.setHost(hostName_, this->getPort());
    // The base's own test for a new connection (HTTPClientSession::sendRequest). Closing here
    // is what it would do next; the host can only be changed while no connection is open.
    if (!this->connected() || !this->getKeepAlive() || this->mustReconnect()) {
        this->close();
        this->setHost(deadline_ ? lookUpHostBy(hostName_, *deadline_).toString() : hostName_);
    }
    return Session::sendRequest(request);
}

template <class Session>
void DeadlineSession<Session>::connect(const Poco::Net::SocketAddress& address) {
    disarmDeadline();  // the connection this one replaces
    if (deadline_ && std::chrono::steady_clock::now() >= *deadline_)
        throw Poco::TimeoutException("the time budget is spent");
    if constexpr (std::is_base_of_v<Poco::Net::HTTPSClientSession, Session>) {
        Poco::Net::SecureStreamSocket secure(this->socket());
        // The server name sent (SNI) and checked: the URL's, not the address connected to.
        if (!hostName_.empty()) secure.setPeerHostName(hostName_);
        // The TCP connect alone: one wait, bounded by the session's connection timeout. (A lazy
        // handshake takes no TLS session to resume: neither the CA's Context nor the webhooks'
        // caches any.)
        secure.setLazyHandshake(true);
        Session::connect(address);
        armDeadline();
        // What Poco does when the handshake is not lazy (SecureSocketImpl::connectSSL): the
        // handshake, then the certificate checked against the host name (RFC 8555 §6.1: HTTPS;
        // RFC 9110 §4.3.4 for a webhook receiver's https URL).
        if (secure.completeHandshake() != 1)
            throw Poco::Net::SSLConnectionUnexpectedlyClosedException("during the TLS handshake");
        secure.verifyPeerCertificate();
    } else {
        Session::connect(address);
        armDeadline();
    }
}

template <class Session>
int DeadlineSession<Session>::write(const char* buffer, std::streamsize length) {
    requestWritten_ = true;
    return Session::write(buffer, length);
}

template class DeadlineSession<Poco::Net::HTTPClientSession>;
template class DeadlineSession<Poco::Net::HTTPSClientSession>;

}  // namespace dnsh
