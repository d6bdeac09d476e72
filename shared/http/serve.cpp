#include "http/serve.hpp"

#include <fastcgi.h>
#include <fcgiapp.h>
#include <poll.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "core/process_hardening.hpp"
#include "core/process_priority.hpp"
#include "crypto/random.hpp"
#include "domain/outbox.hpp"
#include "http/bearer.hpp"
#include "http/request_metrics.hpp"
#include "http/routes.hpp"
#include "http/termination.hpp"
#include "log/log.hpp"
#include "metrics/flusher.hpp"

namespace dnsh {

namespace {

using ParamLookup = std::function<std::string(const char*)>;

std::string stripQuery(const std::string& uri) {
    return uri.substr(0, uri.find('?'));
}

// Reads the CGI variables both modes share. PATH_INFO wins (tests set it); REQUEST_URI is the
// path the client sent, which lighttpd passes unchanged.
Request readRequest(const ParamLookup& param) {
    Request request;
    request.method = param("REQUEST_METHOD");
    request.path = param("PATH_INFO");
    if (request.path.empty()) request.path = stripQuery(param("REQUEST_URI"));
    request.contentType = param("CONTENT_TYPE");
    request.queryString = param("QUERY_STRING");
    request.authorization = param("HTTP_AUTHORIZATION");
    request.requestId = chooseRequestId(param("HTTP_X_REQUEST_ID"));
    request.idempotencyKey = param("HTTP_IDEMPOTENCY_KEY");
    const std::string length = param("CONTENT_LENGTH");
    if (!length.empty()) {
        // RFC 9110 §8.6: 1*DIGIT. A sign, a space or junk is a malformed request (400), never a
        // size to allocate.
        if (length.find_first_not_of("0123456789") != std::string::npos) {
            request.contentLength = -1;
        } else {
            try {
                request.contentLength = std::stoll(length);
            } catch (const std::exception&) {
                request.contentLength = kMaxBodyBytes + 1;  // too many digits: too large
            }
        }
    }
    return request;
}

// Reads what is left of FCGI_STDIN up to its end (the empty record that closes it); true when
// the end came within a few bytes: the body was read whole.
bool endOfInput(FCGX_Stream* in) {
    char rest[64];
    return FCGX_GetStr(rest, sizeof rest, in) == 0 && FCGX_HasSeenEOF(in) != 0;
}

bool bodyFits(const Request& request) {
    return !request.contentLength ||
           (*request.contentLength >= 0 && *request.contentLength <= kMaxBodyBytes);
}

void logRequest(const Request& request, const Response& response,
                std::chrono::steady_clock::time_point started) {
    const auto elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // Health probes come every few seconds: their lines are debug unless they fail.
    const bool probe = request.path == "/healthz" || request.path == "/readyz";
    logEvent(response.status >= 500 ? LogLevel::Error
             : probe                ? LogLevel::Debug
                                    : LogLevel::Info,
             "request",
             {{"method", request.method},
              {"path", request.path.substr(0, 256)},
              {"status", response.status},
              {"duration_ms", static_cast<double>(static_cast<long long>(elapsed * 1000)) / 1000}});
    // dispatch() knows the pattern it matched; only other paths are looked up.
    recordHttpRequest(request.method,
                      request.route.empty() ? routeLabel(request.path) : request.route,
                      response.status, elapsed / 1000);
}

std::unique_ptr<Context> makeContext() {
    Config config = loadConfig();
    setLogLevel(config.logLevel);
    configureOutbox(config);
    auto database = Database(config.databaseUrl, config.databaseLimits);
    auto resolver = DnsResolver::fromConfig(config);
    return std::make_unique<Context>(
        Context{std::move(config), std::move(database), std::move(resolver)});
}

int serveCgi(const std::vector<Endpoint>& endpoints, Context& context) {
    const auto started = std::chrono::steady_clock::now();
    Request request = readRequest([](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    });
    const LogContext logContext(request.requestId);
    if (bodyFits(request)) {
        const long long length = request.contentLength.value_or(0);
        request.body.resize(static_cast<std::size_t>(length));
        std::cin.read(request.body.data(), length);
        request.body.resize(static_cast<std::size_t>(std::cin.gcount()));
    }
    const Response response = dispatch(endpoints, context, request);
    std::cout << serializeCgiResponse(response, request.requestId) << std::flush;
    logRequest(request, response, started);
    return 0;
}

// Whether lighttpd has another connection waiting on the listening socket (no wait).
bool requestWaiting(int listeningSocket) {
    pollfd listening{listeningSocket, POLLIN, 0};
    return ::poll(&listening, 1, 0) > 0;
}

void serveFastCgi(const std::vector<Endpoint>& endpoints, Context& context) {
    FCGX_Request fcgi;
    FCGX_InitRequest(&fcgi, FCGI_LISTENSOCK_FILENO, 0);
    // Request lines are written in batches while requests keep coming, and before every wait.
    const LogBatch logBatch;
    while (true) {
        if (!requestWaiting(FCGI_LISTENSOCK_FILENO)) flushLog();
        if (FCGX_Accept_r(&fcgi) < 0) break;
        const auto started = std::chrono::steady_clock::now();
        Request request = readRequest([&](const char* name) {
            const char* value = FCGX_GetParam(name, fcgi.envp);
            return std::string(value ? value : "");
        });
        // Every line logged while serving it carries the request id (README "Operating it", logs).
        const LogContext logContext(request.requestId);
        bool readToTheEnd = false;
        if (bodyFits(request)) {
            const long long length = request.contentLength.value_or(0);
            request.body.resize(static_cast<std::size_t>(length));
            const int got = FCGX_GetStr(request.body.data(), static_cast<int>(length), fcgi.in);
            request.body.resize(static_cast<std::size_t>(got > 0 ? got : 0));
            readToTheEnd = endOfInput(fcgi.in);
        }
        const Response response = dispatch(endpoints, context, request);
        const std::string text = serializeCgiResponse(response, request.requestId);
        FCGX_PutStr(text.data(), static_cast<int>(text.size()), fcgi.out);
        // libfcgi closes a connection by shutdown(), then waits until lighttpd has read the answer
        // and closed its end: a sleep and a wake-up per request. lighttpd leaves the close to the
        // application (keepConn 0, FastCGI 1.0 §3.5) and sends nothing after the empty FCGI_STDIN
        // record that ends a request (§5.3): once that was read, a plain close loses nothing. A
        // request whose body was not read keeps libfcgi's wait.
        if (readToTheEnd) FCGX_Detach(&fcgi);
        FCGX_Finish_r(&fcgi);
        logRequest(request, response, started);
    }
}

Response answer(const std::vector<Endpoint>& endpoints, Context& context, Request& request) {
    try {
        // HEAD is GET without the body: the GET endpoint answers it.
        const std::string method = request.method == "HEAD" ? "GET" : request.method;
        const Endpoint* endpoint = nullptr;
        bool pathServed = false;
        for (const auto& candidate : endpoints) {
            if (!matchRoute(candidate.pathPattern, request.path, request.params)) continue;
            pathServed = true;
            request.route = candidate.pathPattern;
            if (candidate.method == method) {
                endpoint = &candidate;
                break;
            }
        }
        // A path none of this executable's endpoints serves is not ours (lighttpd sends each
        // path to its handler): 404.
        if (!pathServed)
            throw Error(ErrorCode::NotFound, "no such endpoint: " + request.path.substr(0, 200));
        if (endpoint == nullptr) {
            // Allow lists every method of the path, whichever executable serves it (RFC 9110
            // §15.5.6).
            std::string allow = allowedMethods(request.path);
            if (allow.empty()) allow = endpoints.front().method;
            Response response = errorResponse(
                ErrorCode::MethodNotAllowed,
                "method " + request.method.substr(0, 20) + " not allowed; use " + allow);
            response.headers.emplace_back("Allow", allow);
            return response;
        }
        if (!context.config.authToken.empty() && endpoint->access == Access::BearerToken) {
            const auto token = bearerToken(request.authorization);
            if (!token || !constantTimeEquals(*token, context.config.authToken)) {
                Response response = errorResponse(ErrorCode::Unauthorized,
                                                  "missing or wrong Authorization: Bearer token");
                response.headers.emplace_back("WWW-Authenticate", "Bearer");
                return response;
            }
        }
        if (request.contentLength && *request.contentLength < 0)
            throw Error(ErrorCode::BadRequest, "Content-Length is not a number of bytes");
        if (!bodyFits(request))
            throw Error(ErrorCode::PayloadTooLarge, "request body larger than 64 KiB");
        if (endpoint->takesJsonBody && !isJsonContentType(request.contentType))
            throw Error(ErrorCode::UnsupportedMediaType, "Content-Type must be application/json");
        return endpoint->handle(request, context);
    } catch (const Error& e) {
        return errorResponse(e);
    } catch (const std::exception& e) {
        // Details go to the log only; the client learns nothing about internals.
        logEvent(LogLevel::Error, "unhandled error", {{"detail", errorDetail(e)}});
        return errorResponse(ErrorCode::Internal, "internal error");
    }
}

}  // namespace

Response dispatch(const std::vector<Endpoint>& endpoints, Context& context, Request& request) {
    Response response = answer(endpoints, context, request);
    response.withoutBody = request.method == "HEAD";
    return response;
}

int serve(const std::vector<Endpoint>& endpoints, const WarmUp& warmUp) {
    std::signal(SIGPIPE, SIG_IGN);  // a client that hung up must not kill the process
    std::unique_ptr<Context> context;
    try {
        disableCoreDumps();  // issue_certificate and delete_domain open private keys
        // Before any thread starts: on Linux a nice value belongs to the thread that sets it,
        // and the threads started later inherit it.
        leaveInheritedPriority();
        context = makeContext();
    } catch (const std::exception& e) {
        logEvent(LogLevel::Error, "cannot start", {{"detail", errorDetail(e)}});
        std::cerr << "configuration error: " << e.what() << std::endl;
        return 1;
    }
    if (FCGX_Init() != 0) return 1;
    if (FCGX_IsCGI()) return serveCgi(endpoints, *context);  // tests and pokes: not counted
    stopAcceptingOnTermination();
    // Flushes every METRICS_FLUSH_INTERVAL, and once more at exit.
    const MetricsFlusher metrics(context->config.databaseUrl, context->config.databaseLimits,
                                 context->config.metricsFlushInterval);
    if (warmUp) {
        try {
            warmUp(*context);
        } catch (const std::exception& e) {
            // The database may be down at start: the first request connects (or answers 503).
            logEvent(LogLevel::Debug, "warm-up skipped", {{"detail", errorDetail(e)}});
        }
    }
    serveFastCgi(endpoints, *context);
    return 0;
}

}  // namespace dnsh
