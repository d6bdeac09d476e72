#pragma once
// What the edge agent reads from PostgreSQL, over a libpq connection of its own (it LISTENs,
// which the services' sessions never do), with only the privileges of deploy/edge/role.sql:
// the newest certificate of every domain, the changes since a cursor (edge_events, written by
// the triggers of migration 011 with a NOTIFY on channel dnsh_edge), and its heartbeat.
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dnsh {

// The newest certificate of a domain that has one and is not deleted. The key is still sealed.
struct EdgeCertificate {
    std::string domainName;
    std::string certificateId;
    std::string leafPem;
    std::string chainPem;
    std::string sealedKey;
    long long createdMicros = 0;  // when it was stored, µs since 1970
};

struct EdgeChanges {
    std::set<std::string> domainNames;  // certificate stored or domain deleted
    long long cursorMicros = 0;         // pass back to the next changesSince()
};

// What an agent reports after each round (edge_agents; /metrics reads it).
struct EdgeHeartbeat {
    std::string agent;  // EDGE_AGENT_NAME
    int certificates = 0;
    int failing = 0;  // domains it could not apply (a key that does not open, a refused file)
    // Every certificate stored up to this time is applied (files and HAProxy); none yet: nullopt.
    std::optional<long long> appliedThroughMicros;
    std::string appliedCertificateId;  // the newest one it applied
};

class EdgeSource {
public:
    // `limits`: the TCP keepalives of its connection (DB_KEEPALIVE_*, as every program's);
    // `listen`: LISTEN dnsh_edge on every (re)connection (EDGE_LISTEN).
    EdgeSource(std::string databaseUrl, DatabaseLimits limits, bool listen);
    ~EdgeSource();
    EdgeSource(const EdgeSource&) = delete;
    EdgeSource& operator=(const EdgeSource&) = delete;

    // Each throws Error(DatabaseUnavailable) when PostgreSQL cannot be reached (the connection is
    // opened again on the next call) and std::runtime_error on any other database error.

    // PostgreSQL's clock, µs since 1970: the time a full read is as of.
    long long now();
    // The full set a page at a time, by domain name after `afterName` ("": from the first),
    // at most `limit` of them. Keyset pages, each a query of its own: a reconcile never holds
    // every PEM at once, nor a transaction open for the minutes it takes at a million domains.
    std::vector<EdgeCertificate> certificatesAfter(const std::string& afterName, int limit);
    // The same domains' names only (what the files to claim are known from).
    std::vector<std::string> certificateNamesAfter(const std::string& afterName, int limit);
    std::vector<EdgeCertificate> certificatesOf(const std::set<std::string>& domainNames);
    // Which of them have one (names only: what their files to claim are known from).
    std::vector<std::string> certificateNamesOf(const std::set<std::string>& domainNames);
    // Names changed after `cursorMicros` (an overlap of 30 s covers transactions that commit
    // after a later one: edge_events rows are stamped when written, not when committed).
    EdgeChanges changesSince(long long cursorMicros);
    void heartbeat(const EdgeHeartbeat& beat);
    // Waits until a notification arrives or `timeout` passes; the notified domain names (empty
    // on a timeout, or without LISTEN).
    std::set<std::string> waitForNotifications(std::chrono::milliseconds timeout);

private:
    PGconn* connection();
    struct Result;
    Result run(const std::string& sql, const std::vector<std::optional<std::string>>& params);
    std::vector<EdgeCertificate> certificates(
        const std::string& where, const std::vector<std::optional<std::string>>& params);
    void drop();

    std::string databaseUrl_;
    DatabaseLimits limits_;
    bool listen_;
    PGconn* connection_ = nullptr;
};

}  // namespace dnsh
