#pragma once
// The loop every handler executable runs: FastCGI under lighttpd, or one CGI request when started
// directly (env + stdin + stdout). It owns configuration, the database session, the request id,
// the request log line, the checks common to all endpoints and the error -> status mapping.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"
#include "dns/resolver.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace dnsh {

// What a handler may use; created once per process.
struct Context {
    Config config;
    Database database;
    DnsResolver resolver;
};

// Who may call an endpoint when AUTH_TOKEN is set.
enum class Access {
    BearerToken,  // the token is required (every endpoint but the probes)
    // Liveness and readiness probes answer only {"status":"ok"} or a 503: load balancers and
    // orchestrators call them, and many cannot send a header (README "Configuration").
    Open,
};

struct Endpoint {
    std::string method;       // the one method the endpoint accepts (others: 405 with Allow)
    std::string pathPattern;  // e.g. "/domains/{id}/verify"
    bool takesJsonBody = false;
    std::function<Response(const Request&, Context&)> handle;
    Access access = Access::BearerToken;
};

// Run once by a FastCGI process before its first request: connects and prepares what the
// endpoint's requests use, so the first requests after a start do not pay for it (a fresh
// PostgreSQL backend's first statement loads its catalog caches and plans: 20-100 ms seen under
// load, tests/bench/api "cold"). Best effort: a failure leaves it to the first request.
using WarmUp = std::function<void(Context&)>;

// The endpoints one executable serves (lighttpd routes each route of http/routes.hpp to one).
int serve(const std::vector<Endpoint>& endpoints, const WarmUp& warmUp = {});
inline int serve(const Endpoint& endpoint, const WarmUp& warmUp = {}) {
    return serve(std::vector<Endpoint>{endpoint}, warmUp);
}

// Runs the common checks and the matching endpoint for one request, mapping errors to
// responses. A path an endpoint serves with another method: 405 with Allow from the route table.
// HEAD runs the GET endpoint and answers its status and headers without the body (RFC 9110
// §9.3.2), errors included.
Response dispatch(const std::vector<Endpoint>& endpoints, Context& context, Request& request);

constexpr long long kMaxBodyBytes = 64 * 1024;

}  // namespace dnsh
