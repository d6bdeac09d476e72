#pragma once
// A TLS-terminating host for the edge tests, all on loopback: an EDGE_DIR of its own, HAProxy
// and nginx (Debian's) started from deploy/edge/*.cfg.in on free ports and reading that
// directory, and dnsh-edge-sync runs feeding them.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/domain_flows.hpp"

namespace dnsh::test {

// What a TLS server presented for one server name (openssl s_client).
struct ServedCertificate {
    bool handshake = false;
    std::string serial;     // upper-case hex, no leading zeros
    std::string subject;    // openssl's one-line form
    bool verified = false;  // against the CA file given, for that name
    std::string output;     // for failure messages
};
ServedCertificate servedCertificate(int port, const std::string& serverName,
                                    const std::string& caFile = "");

// Asks until the server presents `serial` for `name` (or `timeout` passes); the last answer.
ServedCertificate waitServed(int port, const std::string& name, const std::string& serial,
                             std::chrono::milliseconds timeout = std::chrono::seconds(15));

// A TCP port on 127.0.0.1 that nothing listens on now.
int freeLoopbackPort();

// The source tree's `relativePath` (deploy/edge/haproxy.cfg.in, deploy/stack/knot.conf.in) with
// each @KEY@ of `values` replaced by its value.
std::string fromSourceTemplate(const std::string& relativePath,
                               const std::map<std::string, std::string>& values);

class TlsHost {
public:
    // `databaseUrl`: the agent's DATABASE_URL (default: the stack's).
    explicit TlsHost(std::string databaseUrl = "");
    ~TlsHost();
    TlsHost(const TlsHost&) = delete;
    TlsHost& operator=(const TlsHost&) = delete;

    const std::string& edgeDir() const { return edgeDir_; }
    std::string socket() const { return run_.path() + "/haproxy.sock"; }
    int haproxyPort() const { return haproxyPort_; }
    int nginxPort() const { return nginxPort_; }
    // The agent's environment: the stack's DATABASE_URL and KEK, EDGE_DIR, HAProxy's socket once
    // startHaproxy() ran, a poll
    // of 1 s, EDGE_GROUP=www-data (nginx's worker reads the keys); `extra` wins ("" unsets).
    std::map<std::string, std::string> agentEnv(
        const std::map<std::string, std::string>& extra = {}) const;

    // dnsh-edge-sync --once, to completion.
    CommandResult syncOnce(const std::map<std::string, std::string>& extra = {}) const;
    // dnsh-edge-sync following changes, until stopAgent() or the host goes.
    ChildProcess& startAgent(const std::map<std::string, std::string>& extra = {});
    void stopAgent() { agent_.reset(); }
    ChildProcess* agent() { return agent_.get(); }

    // HAProxy and nginx need the agent's crt-list and wildcard map: run syncOnce() first.
    void startHaproxy();
    void stopHaproxy() { haproxy_.reset(); }
    int haproxyPid() const { return haproxy_ ? haproxy_->pid() : -1; }
    void startNginx();
    // The worker's pid: a reload replaces the worker, so an unchanged pid means no reload.
    int nginxWorkerPid() const;
    std::string nginxLog() const;

private:
    std::string databaseUrl_;
    TempDir run_;
    std::string edgeDir_;
    std::string defaultPem_;
    int haproxyPort_;
    int nginxPort_;
    std::unique_ptr<ChildProcess> haproxy_;
    std::unique_ptr<ChildProcess> nginx_;
    std::unique_ptr<ChildProcess> agent_;
};

}  // namespace dnsh::test
